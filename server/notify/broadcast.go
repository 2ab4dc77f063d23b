package notify

import (
	"context"
	"sync"
	"sync/atomic"
)

// Broadcaster carries events from the writers to the subscriptions of
// their topics. The in-process Hub is the default; a Broadcaster over a
// message bus would let several Kluis processes that share one storage
// notify each other's subscribers.
type Broadcaster interface {
	// Publish hands e to every subscription of e.Topic. It must not block
	// on a subscriber.
	Publish(ctx context.Context, e Event) error
	// Subscribe returns a new subscription, to no topic yet, whose queue
	// holds at most queue events.
	Subscribe(queue int) Subscription
}

// Feed is a Broadcaster that carries the changes of other processes
// (natsbus.Bus): the server's caches of what other processes may change
// (the versions of ACL resources) use one only while it hears them.
type Feed interface {
	// Watch calls fn with every event another process publishes, on the
	// Feed's goroutine; fn must return quickly.
	Watch(fn func(Event))
	// Hearing reports whether the Feed hears the other processes now,
	// and an epoch that changes whenever it stopped hearing them (a lost
	// connection) or started again: what was learnt in one epoch may be
	// trusted in that epoch only, since events may be missed between.
	Hearing() (epoch uint64, ok bool)
}

// Subscription is one subscriber's view of a Broadcaster.
type Subscription interface {
	// Add subscribes to one more topic.
	Add(topic string)
	// Events delivers the events of the subscribed topics, in the order
	// they were published. An event may be shared with other
	// subscriptions: it must not be changed.
	Events() <-chan *Event
	// Done is closed when the subscription ends: by Close, or because its
	// queue was full when an event came (Dropped then reports true).
	Done() <-chan struct{}
	// Dropped reports whether the subscription was ended for falling
	// behind.
	Dropped() bool
	// Close ends the subscription. It may be called more than once.
	Close()
}

// Hub is the in-process Broadcaster: a map of topics to subscriptions,
// each with a bounded queue. Publish never waits: a subscription whose
// queue is full is dropped (a slow consumer), so one stuck client cannot
// hold up the writers or make the server buffer without bound. It is safe
// for concurrent use.
type Hub struct {
	mu     sync.RWMutex
	topics map[string]map[*hubSub]struct{}
	// dropped counts the subscriptions dropped for falling behind.
	dropped atomic.Int64
}

// NewHub returns an empty Hub.
func NewHub() *Hub {
	return &Hub{topics: make(map[string]map[*hubSub]struct{})}
}

// Publish queues e for every subscription of e.Topic and drops those whose
// queue is full.
func (h *Hub) Publish(_ context.Context, e Event) error {
	var slow []*hubSub
	shared := &e
	h.mu.RLock()
	for s := range h.topics[e.Topic] {
		select {
		case s.events <- shared:
		default:
			slow = append(slow, s)
		}
	}
	h.mu.RUnlock()
	for _, s := range slow {
		if s.dropped.CompareAndSwap(false, true) {
			h.dropped.Add(1)
		}
		s.Close()
	}
	return nil
}

// Subscribe returns a subscription with a queue of at most queue events
// (at least 1).
func (h *Hub) Subscribe(queue int) Subscription {
	return &hubSub{hub: h, events: make(chan *Event, max(queue, 1)), done: make(chan struct{})}
}

// Dropped returns how many subscriptions were dropped for falling behind.
func (h *Hub) Dropped() int64 { return h.dropped.Load() }

// hubSub is a subscription of a Hub.
type hubSub struct {
	hub     *Hub
	events  chan *Event
	done    chan struct{}
	once    sync.Once
	dropped atomic.Bool
	// topics are guarded by hub.mu.
	topics []string
	closed bool
}

func (s *hubSub) Add(topic string) {
	h := s.hub
	h.mu.Lock()
	defer h.mu.Unlock()
	if s.closed {
		return
	}
	subs := h.topics[topic]
	if subs == nil {
		subs = make(map[*hubSub]struct{})
		h.topics[topic] = subs
	}
	if _, ok := subs[s]; !ok {
		subs[s] = struct{}{}
		s.topics = append(s.topics, topic)
	}
}

func (s *hubSub) Events() <-chan *Event { return s.events }
func (s *hubSub) Done() <-chan struct{} { return s.done }
func (s *hubSub) Dropped() bool         { return s.dropped.Load() }

// Close removes the subscription from its topics. The events channel is
// never closed (Publish may be sending on it); Done is.
func (s *hubSub) Close() {
	s.once.Do(func() {
		h := s.hub
		h.mu.Lock()
		s.closed = true
		for _, t := range s.topics {
			delete(h.topics[t], s)
			if len(h.topics[t]) == 0 {
				delete(h.topics, t)
			}
		}
		s.topics = nil
		h.mu.Unlock()
		close(s.done)
	})
}
