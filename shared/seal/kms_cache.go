package seal

import (
	"container/list"
	"context"
	"crypto/cipher"
	"fmt"
	"sync"
	"time"
)

// dataKey is an unwrapped data key, ready to use.
type dataKey struct {
	aead      cipher.AEAD
	header    []byte // KMS envelope header: the KMS key ARN and the wrapped key
	createdAt time.Time
	seals     int64 // values sealed under it; guarded by KMS.mu
}

// openCache is a least-recently-used cache of unwrapped data keys, keyed by
// the wrapped key bytes. Entries older than maxAge are dropped on lookup.
type openCache struct {
	mu      sync.Mutex
	maxSize int
	maxAge  time.Duration
	order   *list.List // front is most recently used; values are *openEntry
	entries map[string]*list.Element
}

type openEntry struct {
	wrappedKey string
	key        *dataKey
	storedAt   time.Time
}

func newOpenCache(maxSize int, maxAge time.Duration) *openCache {
	return &openCache{
		maxSize: maxSize,
		maxAge:  maxAge,
		order:   list.New(),
		entries: make(map[string]*list.Element),
	}
}

func (c *openCache) get(wrappedKey []byte, now time.Time) (*dataKey, bool) {
	c.mu.Lock()
	defer c.mu.Unlock()

	element, ok := c.entries[string(wrappedKey)]
	if !ok {
		return nil, false
	}

	entry := element.Value.(*openEntry)
	if now.Sub(entry.storedAt) >= c.maxAge {
		c.remove(element)
		return nil, false
	}

	c.order.MoveToFront(element)

	return entry.key, true
}

func (c *openCache) put(wrappedKey []byte, key *dataKey, now time.Time) {
	c.mu.Lock()
	defer c.mu.Unlock()

	if element, ok := c.entries[string(wrappedKey)]; ok {
		c.remove(element)
	}

	entry := &openEntry{wrappedKey: string(wrappedKey), key: key, storedAt: now}
	c.entries[entry.wrappedKey] = c.order.PushFront(entry)

	for c.order.Len() > c.maxSize {
		c.remove(c.order.Back())
	}
}

func (c *openCache) remove(element *list.Element) {
	c.order.Remove(element)
	delete(c.entries, element.Value.(*openEntry).wrappedKey)
}

// flightGroup runs one call per key at a time and gives its result to every
// caller that asked for the same key meanwhile, so a cold execution
// environment under concurrent requests makes one KMS call, not one each.
//
// The call runs on a context detached from the first caller's cancellation
// and bounded by timeout, so a caller that gives up does not fail the others.
// Each caller still stops waiting when its own context ends.
type flightGroup struct {
	mu      sync.Mutex
	timeout time.Duration
	calls   map[string]*flightCall
}

type flightCall struct {
	done chan struct{}
	key  *dataKey
	err  error
}

func newFlightGroup(timeout time.Duration) *flightGroup {
	return &flightGroup{timeout: timeout, calls: make(map[string]*flightCall)}
}

func (g *flightGroup) do(ctx context.Context, id string, fn func(context.Context) (*dataKey, error)) (*dataKey, error) {
	if ctx.Err() != nil {
		return nil, fmt.Errorf("%w: request ended before calling KMS: %w", ErrUnavailable, context.Cause(ctx))
	}

	g.mu.Lock()
	call, running := g.calls[id]
	if !running {
		call = &flightCall{done: make(chan struct{})}
		g.calls[id] = call
		go g.run(ctx, id, call, fn)
	}
	g.mu.Unlock()

	select {
	case <-call.done:
		return call.key, call.err
	case <-ctx.Done():
		return nil, fmt.Errorf("%w: gave up waiting for KMS: %w", ErrUnavailable, context.Cause(ctx))
	}
}

func (g *flightGroup) run(ctx context.Context, id string, call *flightCall, fn func(context.Context) (*dataKey, error)) {
	callCtx, cancel := context.WithTimeout(context.WithoutCancel(ctx), g.timeout)
	defer cancel()

	call.key, call.err = fn(callCtx)

	g.mu.Lock()
	delete(g.calls, id)
	g.mu.Unlock()

	close(call.done)
}
