// Package consumer is the checkpointed, asynchronous consumer of the event
// log: a Runner reads the log in position order from its saved checkpoint,
// hands batches to a handler and moves the checkpoint forward. The NATS
// relay is a Runner: the log is its outbox. LagCollector reports how far
// each Runner trails the head.
//
// It depends on eventstore and client_golang only, so every adapter may
// use it without importing another adapter.
package consumer
