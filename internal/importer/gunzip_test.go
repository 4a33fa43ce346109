package importer_test

import (
	"bufio"
	stdgzip "compress/gzip"
	"io"
	"os"
	"testing"

	kgzip "github.com/klauspost/compress/gzip"
)

// BenchmarkGunzip is what decompressing the import's input costs, with the
// standard library's gzip and with klauspost/compress's (the importer's):
// the generated .json.gz of BenchmarkImport (GHEVENTS_BENCH_EVENTS events)
// read to its end through a bufio.Reader, as the importer reads it, on one
// core. It reports the decompressed MB/s and the µs of one event.
func BenchmarkGunzip(b *testing.B) {
	o := benchOptions(b)
	archive, _, _ := benchFiles(b, o)
	for _, c := range []struct {
		name string
		open func(io.Reader) (io.Reader, error)
	}{
		{"stdlib", func(r io.Reader) (io.Reader, error) { return stdgzip.NewReader(r) }},
		{"klauspost", func(r io.Reader) (io.Reader, error) { return kgzip.NewReader(r) }},
	} {
		b.Run(c.name, func(b *testing.B) {
			var n int64
			for i := 0; i < b.N; i++ {
				f, err := os.Open(archive)
				if err != nil {
					b.Fatal(err)
				}
				zr, err := c.open(bufio.NewReaderSize(f, 256<<10))
				if err != nil {
					b.Fatal(err)
				}
				n, err = io.Copy(io.Discard, bufio.NewReaderSize(zr, 256<<10))
				f.Close()
				if err != nil {
					b.Fatal(err)
				}
			}
			b.SetBytes(n)
			b.ReportMetric(float64(b.Elapsed().Microseconds())/float64(b.N)/float64(o.Events), "µs/event")
		})
	}
}
