package csvread

import (
	"bytes"
	"fmt"
	"io"
	"testing"
)

// benchInput returns n records of 8 short fields, like a users.csv.
func benchInput(n int, name string) []byte {
	var b bytes.Buffer
	b.WriteString("user_id,login_id,first_name,last_name,email,status,ssha_password,integration_id\n")
	for i := range n {
		fmt.Fprintf(&b, "u%d,login%d,%s,Smith,u%d@example.edu,active,,\"int %d\"\r\n", i, i, name, i, i)
	}
	return b.Bytes()
}

const benchRecords = 100_000

func benchmarkRead(b *testing.B, data []byte, opt Options) {
	b.SetBytes(int64(len(data)))
	b.ReportAllocs()
	records := 0
	for b.Loop() {
		rd := NewReader(bytes.NewReader(data), opt)
		for {
			_, err := rd.Read()
			if err == io.EOF {
				break
			}
			if err != nil {
				b.Fatal(err)
			}
			records++
		}
	}
	b.ReportMetric(float64(records)/b.Elapsed().Seconds(), "records/s")
}

// BenchmarkRead reports records per second for UTF-8 input; the target is
// at least a million per second on one core.
func BenchmarkRead(b *testing.B) {
	benchmarkRead(b, benchInput(benchRecords, "José"), Options{})
}

// BenchmarkReadWindows1252 measures the decoding path.
func BenchmarkReadWindows1252(b *testing.B) {
	benchmarkRead(b, benchInput(benchRecords, "Jos\xe9"), Options{Encoding: Windows1252})
}

// BenchmarkSniffer measures classifying an upload as it streams in.
func BenchmarkSniffer(b *testing.B) {
	data := benchInput(benchRecords, "José")
	b.SetBytes(int64(len(data)))
	for b.Loop() {
		var s Sniffer
		_, _ = s.Write(data)
		if enc, _ := s.Result(); enc != UTF8 {
			b.Fatal(enc)
		}
	}
}
