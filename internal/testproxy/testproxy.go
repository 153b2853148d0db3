// Package testproxy is a TCP proxy that tests put between a client and a
// server (PostgreSQL, Redis) to make the network fail on purpose: hang
// every connection (bytes are held, not lost, and flow again on Resume, as
// they do when a partition heals), hang from the moment a client sends a
// given string (a COMMIT, say), hang only connections whose first bytes
// name something (the invalidation feed's application_name), or reset
// every connection and refuse new ones.
package testproxy

import (
	"bytes"
	"errors"
	"io"
	"net"
	"sync"
	"testing"
)

// Proxy forwards connections from Addr to a target. It is safe for
// concurrent use.
type Proxy struct {
	ln     net.Listener
	target string

	mu      sync.Mutex
	changed *sync.Cond
	hungAll bool   // every connection is held
	refuse  bool   // new connections are closed at once
	match   []byte // connections whose first client bytes contain it are held
	trigger []byte // the first client chunk that contains it holds everything
	after   bool   // trigger holds from the chunk after it
	conns   map[*pair]struct{}
	wg      sync.WaitGroup
	closed  bool
}

type pair struct {
	client, server net.Conn
	first          []byte // the client's first bytes
	hung           bool   // held by match
	armed          bool   // HangAfter's trigger passed: hold the next chunk
	stillborn      bool   // accepted while everything was held: closed on Resume
}

// Start listens on a free loopback port and forwards to target until the
// test ends.
func Start(t testing.TB, target string) *Proxy {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	p := &Proxy{ln: ln, target: target, conns: map[*pair]struct{}{}}
	p.changed = sync.NewCond(&p.mu)
	p.wg.Add(1)
	go p.accept()
	t.Cleanup(p.Close)
	return p
}

// Addr is the proxy's host:port.
func (p *Proxy) Addr() string { return p.ln.Addr().String() }

// Hang holds every byte in both directions, on open connections, until
// Resume; connections stay open. New connections are accepted and held,
// and closed on Resume without a byte delivered, as a connection attempted
// during a partition never completes.
func (p *Proxy) Hang() { p.set(func() { p.hungAll = true }) }

// HangOn holds everything, as Hang does, from the moment a client sends a
// chunk that contains s; that chunk is held too.
func (p *Proxy) HangOn(s string) { p.set(func() { p.trigger, p.after = []byte(s), false }) }

// HangAfter holds everything, as Hang does, from the first client chunk
// after one that contains s: the statement's text passes, its execution
// (a later message) is held.
func (p *Proxy) HangAfter(s string) { p.set(func() { p.trigger, p.after = []byte(s), true }) }

// HangWhere holds, until Resume, the connections (open and new) whose
// client's first bytes contain s; the others flow.
func (p *Proxy) HangWhere(s string) { p.set(func() { p.match = []byte(s) }) }

// Reset closes every open connection and refuses new ones until Resume.
func (p *Proxy) Reset() {
	p.mu.Lock()
	p.refuse = true
	for c := range p.conns {
		c.client.Close()
		c.server.Close()
	}
	p.changed.Broadcast()
	p.mu.Unlock()
}

// Resume ends Hang, HangOn, HangWhere and Reset: held bytes flow on, in
// order, and new connections are forwarded.
func (p *Proxy) Resume() {
	p.set(func() { p.hungAll, p.refuse, p.match, p.trigger = false, false, nil, nil })
}

// Close stops the proxy and closes every connection.
func (p *Proxy) Close() {
	p.mu.Lock()
	if p.closed {
		p.mu.Unlock()
		return
	}
	p.closed = true
	p.ln.Close()
	for c := range p.conns {
		c.client.Close()
		c.server.Close()
	}
	p.changed.Broadcast()
	p.mu.Unlock()
	p.wg.Wait()
}

func (p *Proxy) set(f func()) {
	p.mu.Lock()
	f()
	for c := range p.conns {
		c.hung = p.match != nil && bytes.Contains(c.first, p.match)
	}
	p.changed.Broadcast()
	p.mu.Unlock()
}

func (p *Proxy) accept() {
	defer p.wg.Done()
	for {
		c, err := p.ln.Accept()
		if err != nil {
			return
		}
		p.mu.Lock()
		refuse := p.refuse || p.closed
		p.mu.Unlock()
		if refuse {
			c.Close()
			continue
		}
		s, err := net.Dial("tcp", p.target)
		if err != nil {
			c.Close()
			continue
		}
		pr := &pair{client: c, server: s}
		p.mu.Lock()
		// A connection made during a partition never completes: its
		// bytes are not delivered, even once the partition heals.
		pr.stillborn = p.hungAll
		p.conns[pr] = struct{}{}
		p.mu.Unlock()
		p.wg.Add(2)
		go p.pump(pr, c, s, true)
		go p.pump(pr, s, c, false)
	}
}

// pump copies from src to dst, waiting before each write while the pair
// is held.
func (p *Proxy) pump(pr *pair, src, dst net.Conn, fromClient bool) {
	defer p.wg.Done()
	defer func() {
		if tc, ok := dst.(*net.TCPConn); ok {
			_ = tc.CloseWrite()
		}
		p.mu.Lock()
		if fromClient {
			delete(p.conns, pr)
		}
		p.mu.Unlock()
	}()
	buf := make([]byte, 32<<10)
	for {
		n, err := src.Read(buf)
		if n > 0 {
			chunk := buf[:n]
			p.mu.Lock()
			if fromClient && pr.first == nil {
				pr.first = append([]byte(nil), chunk...)
				pr.hung = p.match != nil && bytes.Contains(pr.first, p.match)
			}
			if fromClient && pr.armed {
				p.hungAll, pr.armed = true, false
			}
			if fromClient && p.trigger != nil && bytes.Contains(chunk, p.trigger) {
				if p.after {
					pr.armed = true
				} else {
					p.hungAll = true
				}
				p.trigger = nil
			}
			for (p.hungAll || pr.hung) && !p.closed && !p.refuse {
				p.changed.Wait()
			}
			stop := p.closed || p.refuse || pr.stillborn
			p.mu.Unlock()
			if stop {
				return
			}
			if _, werr := dst.Write(chunk); werr != nil {
				return
			}
		}
		if err != nil {
			// A close is held like the bytes before it.
			p.mu.Lock()
			for (p.hungAll || pr.hung) && !p.closed && !p.refuse {
				p.changed.Wait()
			}
			p.mu.Unlock()
			if !errors.Is(err, io.EOF) {
				src.Close()
			}
			return
		}
	}
}
