package batchq

import (
	"sync"
	"testing"
	"time"
)

// Items queued while a batch runs make the next batch, in their order; every item
// is run exactly once, and one goroutine runs at a time.
func TestQueueBatchesWhatComesWhileABatchRuns(t *testing.T) {
	var q Queue[int]
	var mu sync.Mutex
	var batches [][]int
	running := 0
	release := make(chan struct{})
	done := make(chan struct{})
	run := func(b []int) {
		mu.Lock()
		running++
		if running > 1 {
			t.Error("two batches ran at once")
		}
		batches = append(batches, append([]int(nil), b...))
		first := len(batches) == 1
		mu.Unlock()
		if first {
			<-release // the next items are queued meanwhile
		}
		mu.Lock()
		running--
		n := 0
		for _, b := range batches {
			n += len(b)
		}
		mu.Unlock()
		if n == 4 {
			close(done)
		}
	}
	q.Add(1, run)
	time.Sleep(10 * time.Millisecond)
	q.AddAll([]int{2, 3}, run)
	q.Add(4, run)
	close(release)
	select {
	case <-done:
	case <-time.After(5 * time.Second):
		t.Fatal("the queued items did not run within 5 s")
	}
	mu.Lock()
	defer mu.Unlock()
	if len(batches) != 2 || len(batches[0]) != 1 || len(batches[1]) != 3 || batches[1][0] != 2 || batches[1][2] != 4 {
		t.Fatalf("batches %v, want [[1] [2 3 4]]", batches)
	}
}
