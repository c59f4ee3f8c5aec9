package bench

import (
	"errors"
	"io"
	"slices"
	"strings"
	"testing"
)

// chunkReader returns its input in pieces of at most n bytes, as a network
// connection may.
type chunkReader struct {
	s string
	n int
}

func (r *chunkReader) Read(p []byte) (int, error) {
	if r.s == "" {
		return 0, io.EOF
	}
	k := min(len(p), r.n, len(r.s))
	copy(p, r.s[:k])
	r.s = r.s[k:]
	return k, nil
}

const header = "<?xml version='1.0'?><stream:stream xmlns='jabber:client' xmlns:stream='http://etherx.jabber.org/streams' id='abc' from='localhost'>"

func TestScanner(t *testing.T) {
	for _, tc := range []struct {
		name    string
		in      string // after the header
		want    []string
		wantErr error // after the elements; nil means io.EOF
	}{
		{
			name: "stanzas and whitespace",
			in:   " <message to='a'><body>hi</body></message>\n<presence/>\t<iq type='get' id='1'><query xmlns='q'/></iq>",
			want: []string{"<message to='a'><body>hi</body></message>", "<presence/>", "<iq type='get' id='1'><query xmlns='q'/></iq>"},
		},
		{
			name: "quoted > and / in attributes",
			in:   `<message from="a/b>c" id='x/>'><body>1 &lt; 2 &gt; 0</body></message><presence to='r/n>'/>`,
			want: []string{`<message from="a/b>c" id='x/>'><body>1 &lt; 2 &gt; 0</body></message>`, `<presence to='r/n>'/>`},
		},
		{
			name: "quote of the other kind inside a value",
			in:   `<a x="it's" y='say "hi"'><b/></a>`,
			want: []string{`<a x="it's" y='say "hi"'><b/></a>`},
		},
		{
			name: "nesting with same names",
			in:   "<a><a><a/></a><b>t</b></a><c/>",
			want: []string{"<a><a><a/></a><b>t</b></a>", "<c/>"},
		},
		{
			name: "comment, CDATA and processing instruction",
			in:   "<!-- <x> --><a><![CDATA[</a><b>]]></a><?pi </a>?><b/>",
			want: []string{"<a><![CDATA[</a><b>]]></a>", "<b/>"},
		},
		{
			name:    "stream end",
			in:      "<a/></stream:stream><b/>",
			want:    []string{"<a/>"},
			wantErr: ErrStreamEnd,
		},
		{
			name:    "cut inside an element",
			in:      "<a/><b><c>",
			want:    []string{"<a/>"},
			wantErr: io.ErrUnexpectedEOF,
		},
		{
			name:    "cut inside a tag",
			in:      "<a/><b x='>",
			want:    []string{"<a/>"},
			wantErr: io.ErrUnexpectedEOF,
		},
		{
			name: "big element grows the buffer",
			in:   "<m><body>" + strings.Repeat("x", 5000) + "</body></m><n/>",
			want: []string{"<m><body>" + strings.Repeat("x", 5000) + "</body></m>", "<n/>"},
		},
	} {
		input := header + tc.in
		for _, chunk := range []int{1, 2, 3, 7, 64, 1 << 20} {
			sc := NewScanner(&chunkReader{s: input, n: chunk}, 16, 1<<20)
			h, err := sc.Header()
			if err != nil || string(Name(h)) != "stream:stream" {
				t.Fatalf("%s, chunks of %d: header %q, %v", tc.name, chunk, h, err)
			}
			if id, _ := Attr(h, "id"); string(id) != "abc" {
				t.Errorf("%s: header id %q", tc.name, id)
			}
			var got []string
			for {
				el, err := sc.Next()
				if err != nil {
					want := tc.wantErr
					if want == nil {
						want = io.EOF
					}
					if !errors.Is(err, want) {
						t.Errorf("%s, chunks of %d: error %v, want %v", tc.name, chunk, err, want)
					}
					break
				}
				got = append(got, string(el))
			}
			if !slices.Equal(got, tc.want) {
				t.Errorf("%s, chunks of %d:\n got %q\nwant %q", tc.name, chunk, got, tc.want)
			}
		}
	}
}

func TestScannerLimit(t *testing.T) {
	sc := NewScanner(strings.NewReader(header+"<a>"+strings.Repeat("x", 400)+"</a>"), 16, 256)
	if _, err := sc.Header(); err != nil {
		t.Fatal(err)
	}
	if _, err := sc.Next(); !errors.Is(err, ErrTooLarge) {
		t.Fatalf("got %v, want ErrTooLarge", err)
	}
}

func TestScannerRefusesDTD(t *testing.T) {
	sc := NewScanner(strings.NewReader(header+"<!DOCTYPE x><a/>"), 64, 1024)
	if _, err := sc.Header(); err != nil {
		t.Fatal(err)
	}
	if _, err := sc.Next(); err == nil {
		t.Fatal("a DOCTYPE was accepted")
	}
}

// A restarted stream (after SASL) brings a second header.
func TestScannerRestart(t *testing.T) {
	sc := NewScanner(&chunkReader{s: header + "<success/>" + header + "<stream:features><bind/></stream:features>", n: 5}, 32, 1024)
	for _, step := range []struct {
		header bool
		want   string
	}{{true, "stream:stream"}, {false, "success"}, {true, "stream:stream"}, {false, "stream:features"}} {
		var el []byte
		var err error
		if step.header {
			el, err = sc.Header()
		} else {
			el, err = sc.Next()
		}
		if err != nil || string(Name(el)) != step.want {
			t.Fatalf("got %q, %v; want <%s>", el, err, step.want)
		}
	}
}

// BeforeRead runs only when everything received has been scanned.
func TestScannerBeforeRead(t *testing.T) {
	calls := 0
	sc := NewScanner(&chunkReader{s: header + "<a/><b/><c/>", n: 1 << 20}, 1024, 1024)
	sc.BeforeRead = func() error { calls++; return nil }
	if _, err := sc.Header(); err != nil {
		t.Fatal(err)
	}
	for range 3 {
		if _, err := sc.Next(); err != nil {
			t.Fatal(err)
		}
	}
	if calls != 1 {
		t.Errorf("BeforeRead ran %d times for one read, want 1", calls)
	}
}

func BenchmarkScannerMessages(b *testing.B) {
	msg := "<message from='bench0@conference.localhost/u1' to='u7@localhost/bench' type='groupchat' id='x'><body>0 123 1712345678901234567 xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx</body></message>"
	stream := header + strings.Repeat(msg, 1000)
	b.SetBytes(int64(len(msg)) * 1000)
	b.ReportAllocs()
	sc := NewScanner(nil, 8<<10, 1<<20)
	for b.Loop() {
		sc.r = &chunkReader{s: stream, n: 4096}
		sc.pos, sc.end, sc.start, sc.depth = 0, 0, -1, 0
		if _, err := sc.Header(); err != nil {
			b.Fatal(err)
		}
		for range 1000 {
			st, err := sc.Next()
			if err != nil {
				b.Fatal(err)
			}
			body, _ := Child(st, "body")
			if _, _, _, ok := parseBody(Text(body)); !ok {
				b.Fatal("body")
			}
		}
	}
}
