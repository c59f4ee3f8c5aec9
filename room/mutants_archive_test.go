package room

import (
	"context"
	"errors"
	"fmt"
	"testing"
	"testing/synctest"

	"chorus/store"
)

// failingArchive fails every archive write.
type failingArchive struct{ *countingStore }

func (failingArchive) Append(context.Context, []store.Message) error { return errFail }
func (failingArchive) Replace(context.Context, string, string, []byte) (bool, error) {
	return false, errFail
}

// TestArchiveWriteErrorsReported: a failed append or replacement reaches
// the operator, once per failed write; without an error callback the
// queue goes on.
func TestArchiveWriteErrorsReported(t *testing.T) {
	msg := archiveOp{msg: &store.Message{Room: room1, ID: "m"}}
	repl := archiveOp{room: room1, replace: "m", stanza: []byte("<message/>")}
	for i, tc := range [...]struct {
		ops  []archiveOp
		want int
	}{
		0: {[]archiveOp{msg}, 1},
		1: {[]archiveOp{repl}, 1},
		2: {[]archiveOp{msg, msg, repl, msg}, 3}, // append run, replace, append run
	} {
		synctest.Test(t, func(t *testing.T) {
			var errs []error
			a := newArchiver(failingArchive{}, func(err error) { errs = append(errs, err) })
			a.enqueue(tc.ops)
			a.sync()
			close(a.ch)
			<-a.done
			if len(errs) != tc.want || !errors.Is(errs[0], errFail) {
				t.Errorf("%d: errors %v, want %d", i, errs, tc.want)
			}
		})
		synctest.Test(t, func(t *testing.T) {
			a := newArchiver(failingArchive{}, nil)
			a.enqueue(tc.ops)
			a.sync()
			close(a.ch)
			<-a.done
		})
	}
}

// TestArchiveAppendsInRuns: appends are written in runs, one transaction
// each, split by replacements, and never an empty one.
func TestArchiveAppendsInRuns(t *testing.T) {
	msg := archiveOp{msg: &store.Message{Room: room1, ID: "m"}}
	repl := archiveOp{room: room1, replace: "m", stanza: []byte("<message/>")}
	for i, tc := range [...]struct {
		ops  []archiveOp
		want string
	}{
		0: {[]archiveOp{repl}, "[]"},
		1: {[]archiveOp{msg, msg, repl, msg}, "[2 1]"},
		2: {[]archiveOp{repl, msg, repl}, "[1]"},
	} {
		synctest.Test(t, func(t *testing.T) {
			st := &countingStore{memStore: newMemStore()}
			a := newArchiver(st, nil)
			a.enqueue(tc.ops)
			a.sync()
			if got := fmt.Sprint(st.appends); got != tc.want {
				t.Errorf("%d: appends %s, want %s", i, got, tc.want)
			}
			close(a.ch)
			<-a.done
		})
	}
}
