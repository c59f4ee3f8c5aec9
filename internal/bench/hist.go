package bench

import (
	"math"
	"math/bits"
	"time"
)

// Histogram records durations in buckets of at most 1/64 (1.6 %) relative
// width, so that recording is a few instructions without allocation and
// histograms of many receivers merge by addition. Values up to 2^40 ns
// (about 18 minutes) are kept; larger ones count as 2^40 ns.
// The zero value is empty and ready to use; it is not safe for concurrent
// use.
type Histogram struct {
	counts [histBuckets]uint64
	n      uint64
	min    int64
	max    int64
}

const (
	histSub     = 6 // bits of mantissa below the leading one
	histMaxBits = 40
	histBuckets = (histMaxBits-histSub)*(1<<histSub) + 2<<histSub
)

// bucketOf maps v >= 0 to its bucket: values below 128 are exact, larger
// ones keep their top seven significant bits.
func bucketOf(v uint64) int {
	if v >= 1<<histMaxBits {
		v = 1<<histMaxBits - 1
	}
	e := max(bits.Len64(v)-(histSub+1), 0)
	return e<<histSub + int(v>>e)
}

// bucketRange is the smallest and largest value of bucket i.
func bucketRange(i int) (lo, hi uint64) {
	if i < 2<<histSub {
		return uint64(i), uint64(i)
	}
	e := i>>histSub - 1
	m := uint64(i - e<<histSub)
	return m << e, (m+1)<<e - 1
}

// Record adds one duration; negative ones (clock steps) count as zero.
func (h *Histogram) Record(d time.Duration) {
	v := max(int64(d), 0)
	if h.n == 0 || v < h.min {
		h.min = v
	}
	if v > h.max {
		h.max = v
	}
	h.n++
	h.counts[bucketOf(uint64(v))]++
}

// Merge adds o's records to h.
func (h *Histogram) Merge(o *Histogram) {
	if o.n == 0 {
		return
	}
	if h.n == 0 || o.min < h.min {
		h.min = o.min
	}
	h.max = max(h.max, o.max)
	h.n += o.n
	for i, c := range o.counts {
		h.counts[i] += c
	}
}

// Count is the number of records.
func (h *Histogram) Count() uint64 { return h.n }

// Max is the largest record, exactly.
func (h *Histogram) Max() time.Duration { return time.Duration(h.max) }

// Quantile returns the value below or at which a fraction q of the records
// lie (the nearest-rank definition), accurate to the bucket width: the
// middle of the bucket holding that rank, kept within the exact minimum
// and maximum. It is 0 for an empty histogram.
func (h *Histogram) Quantile(q float64) time.Duration {
	if h.n == 0 {
		return 0
	}
	rank := uint64(math.Ceil(q * float64(h.n)))
	rank = min(max(rank, 1), h.n)
	var seen uint64
	for i, c := range h.counts {
		seen += c
		if seen >= rank {
			lo, hi := bucketRange(i)
			v := int64(lo + (hi-lo)/2)
			return time.Duration(min(max(v, h.min), h.max))
		}
	}
	return time.Duration(h.max)
}

// Latency is the JSON form of a latency distribution, in milliseconds.
type Latency struct {
	P50 float64 `json:"p50"`
	P95 float64 `json:"p95"`
	P99 float64 `json:"p99"`
	Max float64 `json:"max"`
}

// Latency summarizes h.
func (h *Histogram) Latency() Latency {
	ms := func(d time.Duration) float64 { return round(float64(d)/1e6, 3) }
	return Latency{P50: ms(h.Quantile(0.50)), P95: ms(h.Quantile(0.95)), P99: ms(h.Quantile(0.99)), Max: ms(h.Max())}
}

// round rounds x to the given number of decimals, for readable JSON.
func round(x float64, decimals int) float64 {
	p := math.Pow10(decimals)
	return math.Round(x*p) / p
}
