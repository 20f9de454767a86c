package format

import (
	"crypto/cipher"
	"encoding/binary"
	"runtime"
	"sync"
)

// The segment pipeline. Segments are independent (each has its own nonce),
// so they are sealed or opened by a fixed pool of workers while one goroutine
// reads input in order and the caller's goroutine writes output in order.
// Buffers come from a fixed set of slots, so memory is bounded by
// slots × segment size whatever the file size, and nothing is allocated per
// segment.

// MaxConcurrency caps the default worker count: past a handful of cores the
// pipeline is bound by I/O and copying, and each worker costs two segment
// buffers.
const MaxConcurrency = 8

type segJob struct {
	buf   []byte // capacity segment size + TagSize
	n     int    // input bytes in buf
	out   []byte // output after processing
	idx   uint32
	last  bool
	err   error
	nonce [12]byte
	tag   [TagSize]byte
	done  chan struct{} // capacity 1: signalled when out/err are ready
}

type segmentProcessor struct {
	aead   cipher.AEAD
	prefix [prefixSize]byte
	open   bool
	segErr func(idx uint32) error
}

func (p *segmentProcessor) process(j *segJob) {
	copy(j.nonce[:prefixSize], p.prefix[:])
	binary.BigEndian.PutUint32(j.nonce[prefixSize:], j.idx)
	j.nonce[11] = 0
	if j.last {
		j.nonce[11] = 1
	}
	if !p.open {
		j.out = p.aead.Seal(j.buf[:0], j.nonce[:], j.buf[:j.n], nil)
		copy(j.tag[:], j.out[len(j.out)-TagSize:])
		return
	}
	copy(j.tag[:], j.buf[j.n-TagSize:j.n])
	out, err := p.aead.Open(j.buf[:0], j.nonce[:], j.buf[:j.n], nil)
	if err != nil {
		j.err = p.segErr(j.idx)
		return
	}
	j.out = out
}

// bufPool recycles default-size segment buffers across calls, so even many
// small files do not churn 1 MiB allocations.
var bufPool = sync.Pool{New: func() any {
	b := make([]byte, DefaultSegmentSize+TagSize)
	return &b
}}

func getBuf(segSize int) []byte {
	if segSize == DefaultSegmentSize {
		return *bufPool.Get().(*[]byte)
	}
	return make([]byte, segSize+TagSize)
}

func putBuf(b []byte) {
	if cap(b) == DefaultSegmentSize+TagSize {
		b = b[:cap(b)]
		bufPool.Put(&b)
	}
}

func workerCount(requested int, nseg int64) int {
	w := requested
	if w <= 0 {
		w = min(runtime.GOMAXPROCS(0), MaxConcurrency)
	}
	if int64(w) > nseg {
		w = int(nseg)
	}
	return max(w, 1)
}

// runSegments processes nseg segments. fill reads segment j.idx's input into
// j.buf[:j.n] (called sequentially, in order); emit consumes j.out and j.tag
// (called sequentially, in order, only for segments that succeeded, and never
// after an earlier segment failed). The first error stops the pipeline.
func runSegments(p *segmentProcessor, segSize int, nseg int64, workers int,
	fill func(j *segJob) error, emit func(j *segJob) error) error {

	if workers <= 1 {
		j := &segJob{buf: getBuf(segSize)}
		defer putBuf(j.buf)
		for i := int64(0); i < nseg; i++ {
			j.idx, j.last, j.err = uint32(i), i == nseg-1, nil
			if err := fill(j); err != nil {
				return err
			}
			p.process(j)
			if j.err != nil {
				return j.err
			}
			if err := emit(j); err != nil {
				return err
			}
		}
		return nil
	}

	nslots := 2 * workers
	free := make(chan *segJob, nslots)
	work := make(chan *segJob, nslots)
	ordered := make(chan *segJob, nslots)
	stop := make(chan struct{})
	jobs := make([]*segJob, nslots)
	for i := range jobs {
		jobs[i] = &segJob{buf: getBuf(segSize), done: make(chan struct{}, 1)}
		free <- jobs[i]
	}
	defer func() {
		for _, j := range jobs {
			putBuf(j.buf)
		}
	}()

	var wg sync.WaitGroup
	for range workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for j := range work {
				p.process(j)
				j.done <- struct{}{}
			}
		}()
	}

	// Producer: reads input in order. At most nslots jobs exist, so sends on
	// work and ordered (capacity nslots) never block.
	go func() {
		defer close(ordered)
		defer close(work)
		for i := int64(0); i < nseg; i++ {
			var j *segJob
			select {
			case j = <-free:
			case <-stop:
				return
			}
			j.idx, j.last, j.err = uint32(i), i == nseg-1, nil
			if err := fill(j); err != nil {
				j.err = err
				j.done <- struct{}{}
				ordered <- j
				return
			}
			work <- j
			ordered <- j
		}
	}()

	var err error
	for j := range ordered {
		<-j.done
		if err == nil {
			if err = j.err; err == nil {
				err = emit(j)
			}
			if err != nil {
				close(stop)
			}
		}
		free <- j
	}
	wg.Wait() // no worker may touch a buffer once it is back in the pool
	return err
}
