package importer

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"log/slog"
	"sync/atomic"
	"time"

	"github.com/klauspost/compress/gzip"
	"github.com/prometheus/client_golang/prometheus"

	"github.com/ghevents/ghevents/internal/github"
	"github.com/ghevents/ghevents/internal/model"
)

// batch is a run of events of one file, stored in one statement.
type batch struct {
	file *fileState
	seq  int   // position among the file's batches
	end  int64 // the last line it covers (events, bad and filtered lines)

	events []model.Event
	lines  []int64 // line number of each event
	// The events' raw JSON, copied out of the reader's buffer one after
	// the other; rawEnd[i] is where event i's ends.
	arena  []byte
	rawEnd []int
}

func (r *run) newBatch(f *fileState) *batch {
	var b *batch
	select {
	case b = <-r.free:
	default:
		// Room for a whole batch from the start: growing the slices to
		// 100,000 events copies them a dozen times over.
		n := min(r.im.o.BatchSize, defaultBatchSizeNoPayload)
		b = &batch{events: make([]model.Event, 0, n), lines: make([]int64, 0, n)}
	}
	b.file = f
	b.events = b.events[:0]
	b.lines = b.lines[:0]
	b.arena = b.arena[:0]
	b.rawEnd = b.rawEnd[:0]
	return b
}

// recycle gives a written batch back for reuse, dropping what would keep
// much memory alive.
func (r *run) recycle(b *batch) {
	clear(b.events) // the strings of the decoded events
	b.file = nil
	if cap(b.arena) > 2*maxBatchBytes {
		b.arena = nil
	}
	select {
	case r.free <- b:
	default:
	}
}

// reader reads sources, one at a time; each reading goroutine has its own.
type reader struct {
	dec github.Decoder
	lr  lineReader
}

// countingReader counts the bytes read through it, for the file and for
// the import's metrics.
type countingReader struct {
	r     io.Reader
	n     *atomic.Int64
	total prometheus.Counter
}

func (c countingReader) Read(p []byte) (int, error) {
	n, err := c.r.Read(p)
	c.n.Add(int64(n))
	c.total.Add(float64(n))
	return n, err
}

// readFile reads one source to its end (or until the import stops) and
// sends its events to the writers in batches.
func (rd *reader) readFile(r *run, f *fileState) {
	im := r.im
	f.mu.Lock()
	f.started = true
	f.start = time.Now()
	f.mu.Unlock()

	lineNo, err := rd.scan(r, f)

	f.mu.Lock()
	defer f.mu.Unlock()
	f.res.Lines = lineNo
	f.res.Events = f.events.Load()
	f.res.Filtered = f.filtered.Load()
	switch {
	case err == nil:
	case errors.Is(err, errInterrupted):
		f.res.Interrupted = true
	default:
		f.res.Err = err
		im.o.Log.Error("bad file", slog.String("file", f.src.name), slog.String("error", err.Error()))
	}
	f.readDone = true
	f.finishLocked(r)
}

var errInterrupted = errors.New("interrupted")

// scan reads f line by line and returns the number of lines read, and why
// it stopped before the end (nil when it read it all).
func (rd *reader) scan(r *run, f *fileState) (lineNo int64, err error) {
	src, closeSrc, err := rd.open(r, f)
	if err != nil {
		return 0, err
	}
	defer closeSrc()
	rd.lr.reset(src, r.im.o.MaxLineBytes)

	bt := &batcher{r: r, f: f, b: r.newBatch(f)}
	stop := func(why error) (int64, error) {
		bt.send(lineNo)
		return lineNo, why
	}
	for {
		select {
		case <-r.ctx.Done():
			return stop(errInterrupted)
		case <-r.abort:
			return stop(errInterrupted)
		default:
		}
		line, tooLong, err := rd.lr.next()
		if err != nil {
			if err == io.EOF {
				return stop(nil)
			}
			if r.ctx.Err() != nil {
				return stop(errInterrupted)
			}
			return stop(fmt.Errorf("read stopped after line %d (truncated or corrupt file): %w", lineNo, err))
		}
		lineNo++
		if tooLong {
			f.mu.Lock()
			f.addBad(r.im.o.Log, lineNo, fmt.Sprintf("line longer than %d bytes", r.im.o.MaxLineBytes))
			f.mu.Unlock()
			continue
		}
		if err := rd.decode(bt, line, lineNo); err != nil {
			return stop(err)
		}
		if bt.full() && !bt.send(lineNo) {
			return lineNo, errInterrupted
		}
	}
}

// open opens f's source and tells the progress reporter; it returns the
// reader of its lines (decompressed when the content is gzip) and what
// closes it.
func (rd *reader) open(r *run, f *fileState) (lines io.Reader, closeAll func(), err error) {
	im := r.im
	body, size, err := im.open(r.ctx, f.src)
	if err != nil {
		var pe *fs.PathError
		if errors.As(err, &pe) {
			err = pe.Err
		}
		return nil, nil, fmt.Errorf("cannot open: %w", err)
	}
	f.mu.Lock()
	f.res.Size = size
	f.opened = true
	f.mu.Unlock()
	f.metrics.FilesInProgress.Inc()
	im.o.Progress.FileStarted(f.src.name, size)

	// Closing the body unblocks a read waiting on the network when the
	// import is interrupted.
	stopWatch := context.AfterFunc(r.ctx, func() { body.Close() })
	closeBody := func() {
		stopWatch()
		body.Close()
	}
	in := bufio.NewReaderSize(countingReader{r: body, n: &f.bytes, total: f.metrics.BytesRead}, 256<<10)
	if magic, _ := in.Peek(2); len(magic) == 2 && magic[0] == 0x1f && magic[1] == 0x8b {
		// klauspost/compress's gzip, not the standard library's: the same
		// format and errors, a quarter less CPU an event (BenchmarkGunzip).
		zr, err := gzip.NewReader(in)
		if err != nil {
			closeBody()
			return nil, nil, fmt.Errorf("not a valid gzip file: %w", err)
		}
		return bufio.NewReaderSize(zr, 256<<10), func() { zr.Close(); closeBody() }, nil
	}
	return in, closeBody, nil
}

// decode reads one line into the batch: an event that passes the filters
// is added, a line that is not an event is reported bad. The error is
// non-nil only when the whole file must be refused (the pre-2015 layout).
func (rd *reader) decode(bt *batcher, line []byte, lineNo int64) error {
	im, f := bt.r.im, bt.f
	if len(bytes.TrimSpace(line)) == 0 {
		return nil
	}
	e, err := rd.dec.Event(line)
	if err != nil {
		var be *github.BadEventError
		if errors.As(err, &be) && errors.Is(be, github.ErrOldLayout) {
			// The whole dump is in the old layout: say it once.
			return fmt.Errorf("line %d: %w", lineNo, github.ErrOldLayout)
		}
		reason := err.Error()
		if be != nil {
			reason = be.Reason
		}
		f.mu.Lock()
		f.addBad(im.o.Log, lineNo, reason)
		f.mu.Unlock()
		return nil
	}
	f.events.Add(1)
	f.metrics.EventsRead.Inc()
	if !im.keep(&e) {
		f.filtered.Add(1)
		return nil
	}
	e.Source = im.o.Source
	bt.b.add(e, lineNo, im.o.NoPayload)
	return nil
}

// add appends e, read from line, to the batch. e.Raw aliases the reader's
// buffer (or is a sanitised copy): it is copied into the batch's arena,
// unless the payload is not stored.
func (b *batch) add(e model.Event, line int64, noPayload bool) {
	if !noPayload {
		b.arena = append(b.arena, e.Raw...)
		b.rawEnd = append(b.rawEnd, len(b.arena))
	}
	e.Raw = nil
	b.events = append(b.events, e)
	b.lines = append(b.lines, line)
}

// batcher gathers one file's events into batches and hands them to the
// writers.
type batcher struct {
	r   *run
	f   *fileState
	b   *batch
	seq int // the next batch's position among the file's
}

// full reports whether the batch is to be sent: BatchSize events, or
// maxBatchBytes of raw JSON.
func (bt *batcher) full() bool {
	return len(bt.b.events) >= bt.r.im.o.BatchSize || len(bt.b.arena) >= maxBatchBytes
}

// send hands the batch, which covers the lines up to end, to the writers
// and starts the next one; an empty batch is not sent. It returns false
// when the import stopped instead.
func (bt *batcher) send(end int64) bool {
	r, f, b := bt.r, bt.f, bt.b
	b.end = end
	if len(b.events) == 0 {
		return true
	}
	if !r.im.o.NoPayload {
		from := 0
		for i := range b.events {
			b.events[i].Raw = b.arena[from:b.rawEnd[i]:b.rawEnd[i]]
			from = b.rawEnd[i]
		}
	}
	b.seq = bt.seq
	bt.seq++
	f.mu.Lock()
	f.ends = append(f.ends, end)
	f.ok = append(f.ok, false)
	f.pending++
	f.mu.Unlock()
	select {
	case r.batches <- b:
	case <-r.abort:
		f.mu.Lock()
		f.pending--
		f.mu.Unlock()
		r.recycle(b)
		return false
	}
	bt.b = r.newBatch(f)
	return true
}

// lineReader reads lines of any length up to a limit, without holding more
// than one line (and bufio's buffer) in memory.
type lineReader struct {
	r   *bufio.Reader
	buf []byte
	max int
}

func (lr *lineReader) reset(r io.Reader, maxLine int) {
	if br, ok := r.(*bufio.Reader); ok {
		lr.r = br
	} else {
		lr.r = bufio.NewReaderSize(r, 256<<10)
	}
	lr.max = maxLine
	lr.buf = lr.buf[:0]
}

// next returns the next line without its line ending; the slice is valid
// until the next call. A line longer than the limit comes back empty with
// tooLong set (it was read and dropped). A last line without a newline is
// returned as a line; io.EOF follows. Any other read error drops the
// partial line and is returned.
func (lr *lineReader) next() (line []byte, tooLong bool, err error) {
	if cap(lr.buf) > 4<<20 {
		lr.buf = nil // a huge line once should not keep its memory
	}
	lr.buf = lr.buf[:0]
	for {
		frag, err := lr.r.ReadSlice('\n')
		if err == nil && len(lr.buf) == 0 && !tooLong && len(frag) <= lr.max+2 {
			// The common case: the whole line is in bufio's buffer.
			return trimEOL(frag), false, nil
		}
		if !tooLong {
			if len(lr.buf)+len(frag) > lr.max+2 {
				tooLong = true
				lr.buf = lr.buf[:0]
			} else {
				lr.buf = append(lr.buf, frag...)
			}
		}
		switch {
		case err == nil:
			if tooLong {
				return nil, true, nil
			}
			return trimEOL(lr.buf), false, nil
		case err == bufio.ErrBufferFull:
			continue
		case err == io.EOF:
			if tooLong {
				return nil, true, nil
			}
			if len(lr.buf) > 0 {
				return trimEOL(lr.buf), false, nil
			}
			return nil, false, io.EOF
		default:
			return nil, false, err
		}
	}
}

func trimEOL(b []byte) []byte {
	b = bytes.TrimSuffix(b, []byte("\n"))
	return bytes.TrimSuffix(b, []byte("\r"))
}
