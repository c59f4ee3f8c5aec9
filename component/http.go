package component

import (
	"context"
	"errors"
	stdlog "log"
	"net"
	"net/http"
	"net/http/pprof"
	"time"

	"github.com/prometheus/client_golang/prometheus/promhttp"
	"github.com/rs/zerolog"
)

// httpShutdownTimeout bounds how long RunHTTP waits for requests in flight
// (a CPU profile can take 30 s) before it closes their connections.
const httpShutdownTimeout = 2 * time.Second

// NewHTTPHandler serves the operators' endpoints:
//
//   - /metrics: m in the Prometheus text format;
//   - /healthz: 200 while the process serves HTTP at all (liveness);
//   - /readyz: 200 while the component stream is authenticated, 503
//     otherwise, so that a balancer or orchestrator sees a Chorus that
//     cannot reach its server as not ready without restarting it; a hot
//     standby (Metrics.SetActive) answers 503 too, saying so;
//   - /debug/pprof/: Go's profiler, only with withPprof, since profiles
//     reveal memory contents and cost CPU.
//
// m must not be nil.
func NewHTTPHandler(m *Metrics, withPprof bool) http.Handler {
	mux := http.NewServeMux()
	mux.Handle("GET /metrics", promhttp.HandlerFor(m.Registry(), promhttp.HandlerOpts{
		// Count failed scrapes on the same registry.
		Registry: m.Registry(),
	}))
	mux.HandleFunc("GET /healthz", func(w http.ResponseWriter, _ *http.Request) {
		plain(w, http.StatusOK, "ok\n")
	})
	mux.HandleFunc("GET /readyz", func(w http.ResponseWriter, _ *http.Request) {
		if m.Ready() {
			plain(w, http.StatusOK, "ready\n")
			return
		}
		if m.Standby() {
			plain(w, http.StatusServiceUnavailable, "standby: another instance serves the domain\n")
			return
		}
		plain(w, http.StatusServiceUnavailable, "component stream not authenticated\n")
	})
	if withPprof {
		// Index also serves the named profiles (heap, goroutine, ...).
		mux.HandleFunc("/debug/pprof/", pprof.Index)
		mux.HandleFunc("/debug/pprof/cmdline", pprof.Cmdline)
		mux.HandleFunc("/debug/pprof/profile", pprof.Profile)
		mux.HandleFunc("/debug/pprof/symbol", pprof.Symbol)
		mux.HandleFunc("/debug/pprof/trace", pprof.Trace)
	}
	return mux
}

func plain(w http.ResponseWriter, code int, body string) {
	w.Header().Set("Content-Type", "text/plain; charset=utf-8")
	w.Header().Set("Cache-Control", "no-store")
	w.WriteHeader(code)
	w.Write([]byte(body))
}

// RunHTTP serves h on ln until ctx is cancelled, then shuts the server down
// and returns nil. It returns early with an error only when serving fails.
// ln is closed when RunHTTP returns.
func RunHTTP(ctx context.Context, ln net.Listener, h http.Handler, log zerolog.Logger) error {
	srv := &http.Server{
		Handler:           h,
		ReadHeaderTimeout: 10 * time.Second,
		IdleTimeout:       2 * time.Minute,
		// No WriteTimeout: it would cut off CPU profiles and traces.
		ErrorLog: stdlog.New(log.With().Str("listener", "http").Logger(), "", 0),
	}
	served := make(chan error, 1)
	go func() { served <- srv.Serve(ln) }()
	select {
	case err := <-served:
		return err
	case <-ctx.Done():
	}
	sctx, cancel := context.WithTimeout(context.Background(), httpShutdownTimeout)
	defer cancel()
	if err := srv.Shutdown(sctx); err != nil {
		srv.Close()
	}
	if err := <-served; !errors.Is(err, http.ErrServerClosed) {
		return err
	}
	return nil
}
