package natstest

import (
	"context"
	"fmt"
	"net/url"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/nats-io/nats-server/v2/server"
	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"

	"github.com/sessiond/sessiond/internal/freeport"
	"github.com/sessiond/sessiond/internal/waitfor"
)

// leafSeq names leaf nodes uniquely within the test binary.
var leafSeq atomic.Int64

// Domain is the JetStream domain of the cluster. Leaf nodes map their
// clients' JetStream API to it (default_js_domain), so verifiers behind a
// leaf need no domain of their own.
const Domain = "hub"

// Cluster is a JetStream cluster of in-process nats-servers joined by
// routes, each node also accepting leaf node connections. Every node keeps
// its ports and store across Stop and Restart, as a real node would.
type Cluster struct {
	tb    testing.TB
	Nodes []*Server
	leafs []string // leaf node listen URLs of the nodes
}

// freePort picks a port for a server. Routes and leaf remotes need every
// node's ports before any node starts, and restarts reuse them, so they
// come from below the kernel's ephemeral range (see internal/freeport).
func freePort(tb testing.TB) int {
	tb.Helper()
	p, err := freeport.Pick()
	if err != nil {
		tb.Fatal(err)
	}
	return p
}

// StartCluster starts an n-node JetStream cluster named "sessiond" and
// waits until it has elected a meta leader, so streams can be created at
// once. The nodes are shut down when tb ends.
func StartCluster(tb testing.TB, n int) *Cluster {
	tb.Helper()
	c := &Cluster{tb: tb}
	routes := make([]string, n)
	ports := make([][3]int, n) // client, cluster, leaf
	for i := range n {
		ports[i] = [3]int{freePort(tb), freePort(tb), freePort(tb)}
		routes[i] = fmt.Sprintf("nats://127.0.0.1:%d", ports[i][1])
		c.leafs = append(c.leafs, fmt.Sprintf("nats://127.0.0.1:%d", ports[i][2]))
	}
	for i := range n {
		s := &Server{tb: tb, opts: server.Options{
			ServerName: fmt.Sprintf("n%d", i+1),
			Host:       "127.0.0.1", Port: ports[i][0],
			JetStream: true, StoreDir: tb.TempDir(), JetStreamDomain: Domain,
			Cluster:  server.ClusterOpts{Name: "sessiond", Host: "127.0.0.1", Port: ports[i][1]},
			Routes:   server.RoutesFromStr(strings.Join(routes, ",")),
			LeafNode: server.LeafNodeOpts{Host: "127.0.0.1", Port: ports[i][2]},
			NoLog:    true, NoSigs: true,
		}}
		s.run()
		tb.Cleanup(s.Stop)
		c.Nodes = append(c.Nodes, s)
	}
	waitfor.Cond(tb, 30*time.Second, func() error {
		for _, s := range c.Nodes {
			if got := s.srv.NumRoutes(); got < n-1 {
				return fmt.Errorf("%s has %d routes, want %d", s.Name(), got, n-1)
			}
		}
		leader := c.MetaLeader()
		if leader == nil {
			return fmt.Errorf("no JetStream meta leader yet")
		}
		// Every peer known to the meta group and current, so a stream can
		// be placed on any of them at once.
		info, err := leader.srv.Jsz(&server.JSzOptions{})
		if err != nil || info.Meta == nil {
			return fmt.Errorf("meta group not reported yet: %v", err)
		}
		if got := len(info.Meta.Replicas); got < n-1 {
			return fmt.Errorf("meta group knows %d peers besides its leader, want %d", got, n-1)
		}
		for _, p := range info.Meta.Replicas {
			if !p.Current || p.Offline {
				return fmt.Errorf("meta peer %s not current yet", p.Name)
			}
		}
		return nil
	})
	return c
}

// URL is every running node's client URL, comma-separated (what NATS_URL
// takes for a cluster).
func (c *Cluster) URL() string {
	var urls []string
	for _, s := range c.Nodes {
		urls = append(urls, s.URL())
	}
	return strings.Join(urls, ",")
}

// LeafURLs are the nodes' leaf node listen URLs, for leaf nodes run as
// separate processes.
func (c *Cluster) LeafURLs() []string { return c.leafs }

// MetaLeader is the node leading the JetStream meta group, or nil.
func (c *Cluster) MetaLeader() *Server {
	for _, s := range c.Nodes {
		if s.srv != nil && s.srv.JetStreamIsLeader() {
			return s
		}
	}
	return nil
}

// StreamLeader is the running node that leads stream (global account), or
// nil while there is none.
func (c *Cluster) StreamLeader(stream string) *Server {
	for _, s := range c.Nodes {
		if s.srv != nil && s.srv.JetStreamIsStreamLeader(server.DEFAULT_GLOBAL_ACCOUNT, stream) {
			return s
		}
	}
	return nil
}

// StartLeaf starts a leaf node server without JetStream of its own,
// connected to every node of the cluster (it fails over between them);
// clients connected to it reach the cluster's streams through it. It can be
// stopped and restarted on the same client port, like Start's servers.
func (c *Cluster) StartLeaf(tb testing.TB) *Server {
	tb.Helper()
	return c.startLeaf(tb, server.Options{
		ServerName: fmt.Sprintf("leaf-%d", leafSeq.Add(1)),
		// Clients of the leaf use the hub's JetStream as if it were local.
		JsAccDefaultDomain: map[string]string{server.DEFAULT_GLOBAL_ACCOUNT: Domain},
	})
}

// startLeaf runs a leaf node with opts, on a free client port and with
// remotes to every node of the cluster, and waits until it is connected.
func (c *Cluster) startLeaf(tb testing.TB, opts server.Options) *Server {
	tb.Helper()
	var remotes []*url.URL
	for _, u := range c.leafs {
		parsed, err := url.Parse(u)
		if err != nil {
			tb.Fatal(err)
		}
		remotes = append(remotes, parsed)
	}
	opts.Host, opts.Port = "127.0.0.1", freePort(tb)
	opts.LeafNode = server.LeafNodeOpts{
		ReconnectInterval: 100 * time.Millisecond,
		Remotes:           []*server.RemoteLeafOpts{{URLs: remotes}},
	}
	opts.NoLog, opts.NoSigs = true, true
	s := &Server{tb: tb, opts: opts}
	s.run()
	tb.Cleanup(s.Stop)
	s.WaitLeafConnected(tb)
	return s
}

// EdgeDomain is the JetStream domain of StartMirrorLeaf's leaf nodes.
const EdgeDomain = "edge"

// StartMirrorLeaf starts a leaf node with JetStream of its own (domain
// EdgeDomain) holding a mirror of the hub's stream, under the same name:
// clients of the leaf, verifiers among them, read the local mirror with no
// setting of their own, and the hub serves the mirror alone however many
// verifiers the leaf has.
func (c *Cluster) StartMirrorLeaf(tb testing.TB, stream string) *Server {
	tb.Helper()
	s := c.startLeaf(tb, server.Options{
		ServerName: fmt.Sprintf("edge-%d", leafSeq.Add(1)),
		JetStream:  true, JetStreamDomain: EdgeDomain, StoreDir: tb.TempDir(),
	})
	nc, err := nats.Connect(s.URL())
	if err != nil {
		tb.Fatal(err)
	}
	defer nc.Close()
	js, err := jetstream.New(nc)
	if err != nil {
		tb.Fatal(err)
	}
	Retry(tb, 60*time.Second, func(ctx context.Context) error {
		_, err := js.CreateOrUpdateStream(ctx, MirrorConfig(stream))
		return err
	})
	return s
}

// MirrorConfig is the configuration of a leaf's mirror of the hub's
// stream: the same name, one message per subject, per-message TTL honoured
// (the revocations' Nats-TTL headers come along).
func MirrorConfig(stream string) jetstream.StreamConfig {
	return jetstream.StreamConfig{
		Name: stream, Storage: jetstream.FileStorage,
		MaxMsgsPerSubject: 1, AllowMsgTTL: true, MaxConsumers: 100_000,
		Mirror: &jetstream.StreamSource{Name: stream,
			External: &jetstream.ExternalStream{APIPrefix: "$JS." + Domain + ".API"}},
	}
}

// WaitLeafConnected waits until the leaf node has a connection to the hub.
func (s *Server) WaitLeafConnected(tb testing.TB) {
	tb.Helper()
	waitfor.Cond(tb, 30*time.Second, func() error {
		if s.srv == nil || s.srv.NumLeafNodes() == 0 {
			return fmt.Errorf("leaf node %s is not connected to the cluster", s.Name())
		}
		return nil
	})
}
