// Package batchq hands queued work to one goroutine at a time, in batches: what is
// queued while a batch runs makes the next one. Both sides use it where a burst
// (a thousand cancels, a thousand exits) should cost one pass per batch instead
// of one per item: the host for its cancels' steps and shared /proc reads, the
// helper for the reaps of emptied trees.
package batchq

import "sync"

// Queue is one such queue; its zero value is ready. Its goroutine starts at the
// first Add and ends once a batch finds the queue empty.
type Queue[T any] struct {
	mu      sync.Mutex
	queue   []T
	running bool
}

// Add queues item; if no goroutine is running, it starts one that calls run with
// each batch until the queue is empty.
func (q *Queue[T]) Add(item T, run func(batch []T)) { q.AddAll([]T{item}, run) }

// AddAll queues items as Add does, in their order.
func (q *Queue[T]) AddAll(items []T, run func(batch []T)) {
	q.mu.Lock()
	q.queue = append(q.queue, items...)
	if !q.running {
		q.running = true
		go q.work(run)
	}
	q.mu.Unlock()
}

func (q *Queue[T]) work(run func(batch []T)) {
	for {
		q.mu.Lock()
		batch := q.queue
		q.queue = nil
		if len(batch) == 0 {
			q.running = false
			q.mu.Unlock()
			return
		}
		q.mu.Unlock()
		run(batch)
	}
}
