package postgres_test

import (
	"context"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/hashdrop/hashdrop/internal/hashdrop"
)

func TestTryLockExcludesOtherInstances(t *testing.T) {
	t.Parallel()
	stores := openN(t, 2)
	ctx := context.Background()
	release, ok, err := stores[0].TryLock(ctx, "a")
	if err != nil || !ok {
		t.Fatalf("first TryLock: ok=%v err=%v", ok, err)
	}
	if _, ok, err := stores[1].TryLock(ctx, "a"); err != nil || ok {
		t.Fatalf("second instance got a held lock: ok=%v err=%v", ok, err)
	}
	if r, ok, err := stores[1].TryLock(ctx, "b"); err != nil || !ok {
		t.Fatalf("another name: ok=%v err=%v", ok, err)
	} else {
		r()
	}
	release()
	r, ok, err := stores[1].TryLock(ctx, "a")
	if err != nil || !ok {
		t.Fatalf("after release: ok=%v err=%v", ok, err)
	}
	r()
}

func TestTryLockIsPerSchema(t *testing.T) {
	t.Parallel()
	a, b := openN(t, 1)[0], openN(t, 1)[0]
	ctx := context.Background()
	ra, ok, err := a.TryLock(ctx, "job")
	if err != nil || !ok {
		t.Fatalf("schema a: ok=%v err=%v", ok, err)
	}
	defer ra()
	rb, ok, err := b.TryLock(ctx, "job")
	if err != nil || !ok {
		t.Fatalf("schema b blocked by schema a: ok=%v err=%v", ok, err)
	}
	rb()
}

func TestExclusiveRunsOneAtATime(t *testing.T) {
	t.Parallel()
	stores := openN(t, 3)
	var running, maxRunning, runs atomic.Int32
	job := hashdrop.Job{Name: "j", Every: time.Minute, Run: func(ctx context.Context) error {
		n := running.Add(1)
		for {
			m := maxRunning.Load()
			if n <= m || maxRunning.CompareAndSwap(m, n) {
				break
			}
		}
		runs.Add(1)
		time.Sleep(50 * time.Millisecond) // widen the window for overlap
		running.Add(-1)
		return nil
	}}
	var wg sync.WaitGroup
	for i := range 12 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			if err := stores[i%3].Exclusive(job).Run(context.Background()); err != nil {
				t.Error(err)
			}
		}()
	}
	wg.Wait()
	if maxRunning.Load() != 1 {
		t.Errorf("%d runs overlapped, want 1 at a time", maxRunning.Load())
	}
	if runs.Load() < 1 {
		t.Error("the job never ran")
	}
}
