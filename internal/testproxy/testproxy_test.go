package testproxy

import (
	"bufio"
	"net"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// echo serves lines back until the test ends.
func echo(t *testing.T) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	t.Cleanup(func() { ln.Close() })
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			go func() {
				defer c.Close()
				r := bufio.NewReader(c)
				for {
					line, err := r.ReadString('\n')
					if err != nil {
						return
					}
					if _, err := c.Write([]byte(line)); err != nil {
						return
					}
				}
			}()
		}
	}()
	return ln.Addr().String()
}

// roundTrip sends a line and reads the answer within d; ok is false when
// none came.
func roundTrip(t *testing.T, c net.Conn, r *bufio.Reader, line string, d time.Duration) (string, bool) {
	t.Helper()
	_, err := c.Write([]byte(line + "\n"))
	require.NoError(t, err)
	require.NoError(t, c.SetReadDeadline(time.Now().Add(d)))
	got, err := r.ReadString('\n')
	if err != nil {
		return got, false
	}
	return got[:len(got)-1], true
}

func TestProxyModes(t *testing.T) {
	p := Start(t, echo(t))
	c, err := net.Dial("tcp", p.Addr())
	require.NoError(t, err)
	defer c.Close()
	r := bufio.NewReader(c)

	got, ok := roundTrip(t, c, r, "one", 2*time.Second)
	require.True(t, ok)
	assert.Equal(t, "one", got)

	p.Hang()
	_, ok = roundTrip(t, c, r, "two", 200*time.Millisecond)
	assert.False(t, ok, "held while hung")
	p.Resume()
	require.NoError(t, c.SetReadDeadline(time.Now().Add(2*time.Second)))
	line, err := r.ReadString('\n')
	require.NoError(t, err)
	assert.Equal(t, "two\n", line, "held bytes flow on resume")

	p.HangOn("COMMIT")
	got, ok = roundTrip(t, c, r, "three", 2*time.Second)
	assert.True(t, ok)
	assert.Equal(t, "three", got)
	_, ok = roundTrip(t, c, r, "COMMIT", 200*time.Millisecond)
	assert.False(t, ok, "the trigger chunk is held")
	p.Resume()

	p.Reset()
	_, err = c.Read(make([]byte, 64))
	assert.Error(t, err, "reset closes open connections")
	c2, err := net.Dial("tcp", p.Addr())
	if err == nil {
		_ = c2.SetReadDeadline(time.Now().Add(2 * time.Second))
		_, err = c2.Read(make([]byte, 1))
		c2.Close()
	}
	assert.Error(t, err, "new connections are refused while reset")
	p.Resume()
	c3, err := net.Dial("tcp", p.Addr())
	require.NoError(t, err)
	defer c3.Close()
	got, ok = roundTrip(t, c3, bufio.NewReader(c3), "four", 2*time.Second)
	assert.True(t, ok)
	assert.Equal(t, "four", got)
}

func TestProxyHangWhere(t *testing.T) {
	p := Start(t, echo(t))
	p.HangWhere("feed")
	feed, err := net.Dial("tcp", p.Addr())
	require.NoError(t, err)
	defer feed.Close()
	other, err := net.Dial("tcp", p.Addr())
	require.NoError(t, err)
	defer other.Close()
	_, ok := roundTrip(t, feed, bufio.NewReader(feed), "feed hello", 200*time.Millisecond)
	assert.False(t, ok, "a matching connection is held")
	got, ok := roundTrip(t, other, bufio.NewReader(other), "store hello", 2*time.Second)
	assert.True(t, ok, "the others flow")
	assert.Equal(t, "store hello", got)
}
