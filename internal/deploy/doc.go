// Package deploy holds the tests of the deployment files (Dockerfile,
// docker-compose.yml) at the repository root. It has no code.
package deploy
