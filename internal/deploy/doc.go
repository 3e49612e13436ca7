// Package deploy holds the tests of the deployment files (Dockerfile,
// docker-compose.yml, docker-compose.cluster.yml and the configuration
// files under deploy/) at the repository root. It has no code and imports
// nothing of the module.
package deploy
