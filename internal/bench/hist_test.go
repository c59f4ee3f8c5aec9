package bench

import (
	"math"
	"math/rand/v2"
	"slices"
	"testing"
	"time"
)

func TestBuckets(t *testing.T) {
	prev := -1
	for v := uint64(0); v < 1<<20; v += 1 + v/97 {
		i := bucketOf(v)
		if i < prev {
			t.Fatalf("bucketOf(%d) = %d after %d: not monotonic", v, i, prev)
		}
		prev = i
		lo, hi := bucketRange(i)
		if v < lo || v > hi {
			t.Fatalf("%d in bucket %d = [%d, %d]", v, i, lo, hi)
		}
		if v >= 128 && float64(hi-lo+1)/float64(lo) > 1.0/64+1e-9 {
			t.Fatalf("bucket %d = [%d, %d] is too wide", i, lo, hi)
		}
	}
	if i := bucketOf(math.MaxUint64); i >= histBuckets {
		t.Fatalf("bucketOf(max) = %d, beyond %d buckets", i, histBuckets)
	}
}

// exact is the nearest-rank quantile of sorted values.
func exact(sorted []time.Duration, q float64) time.Duration {
	r := int(math.Ceil(q * float64(len(sorted))))
	return sorted[min(max(r, 1), len(sorted))-1]
}

func TestQuantiles(t *testing.T) {
	r := rand.New(rand.NewPCG(1, 2))
	for _, tc := range []struct {
		name string
		gen  func() time.Duration
		n    int
	}{
		{"uniform ms", func() time.Duration { return time.Duration(r.Int64N(int64(100 * time.Millisecond))) }, 10000},
		{"exponential", func() time.Duration { return time.Duration(r.ExpFloat64() * float64(time.Millisecond)) }, 50000},
		{"small exact", func() time.Duration { return time.Duration(r.Int64N(100)) }, 1000},
		{"one value", func() time.Duration { return 1234567 }, 10},
		{"one sample", func() time.Duration { return 42 * time.Microsecond }, 1},
	} {
		// Two halves merged must give what one histogram gives.
		var a, b Histogram
		var vals []time.Duration
		for i := range tc.n {
			v := tc.gen()
			vals = append(vals, v)
			if i%2 == 0 {
				a.Record(v)
			} else {
				b.Record(v)
			}
		}
		a.Merge(&b)
		slices.Sort(vals)
		if a.Count() != uint64(tc.n) || a.Max() != vals[len(vals)-1] {
			t.Errorf("%s: count %d max %v, want %d %v", tc.name, a.Count(), a.Max(), tc.n, vals[len(vals)-1])
		}
		for _, q := range []float64{0, 0.5, 0.95, 0.99, 1} {
			got, want := a.Quantile(q), exact(vals, q)
			if math.Abs(float64(got-want)) > float64(want)/64+1 {
				t.Errorf("%s: q%.2f = %v, want %v within 1/64", tc.name, q, got, want)
			}
		}
	}
	var empty Histogram
	if empty.Quantile(0.5) != 0 || empty.Latency() != (Latency{}) {
		t.Error("empty histogram is not zero")
	}
}

func TestLatencyMilliseconds(t *testing.T) {
	var h Histogram
	for range 100 {
		h.Record(2 * time.Millisecond)
	}
	h.Record(-time.Second) // a clock step
	l := h.Latency()
	if l.P50 < 1.97 || l.P50 > 2.03 || l.Max != 2 {
		t.Errorf("latency %+v", l)
	}
}
