package app

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"time"

	"github.com/go-logr/logr"
)

// group runs long-running parts until the first one fails or the parent
// context ends, then cancels the rest and waits for them at most timeout.
type group struct {
	ctx     context.Context
	cancel  context.CancelFunc
	timeout time.Duration
	wg      sync.WaitGroup
	mu      sync.Mutex
	errs    []error
}

func newGroup(parent context.Context, timeout time.Duration) *group {
	ctx, cancel := context.WithCancel(parent)
	return &group{ctx: ctx, cancel: cancel, timeout: timeout}
}

// Go runs start(ctx); an error from it stops the group, a nil return does
// not.
func (g *group) Go(name string, start func(context.Context) error) {
	g.wg.Add(1)
	go func() {
		defer g.wg.Done()
		if err := start(g.ctx); err != nil {
			g.mu.Lock()
			g.errs = append(g.errs, fmt.Errorf("%s: %w", name, err))
			g.mu.Unlock()
			logr.FromContextOrDiscard(g.ctx).Info("Stopping", "failed", name)
			g.cancel()
		}
	}()
}

// Wait blocks until every part has returned (or the shutdown bound passed
// after the group was cancelled) and returns their errors.
func (g *group) Wait() error {
	done := make(chan struct{})
	go func() { g.wg.Wait(); close(done) }()
	select {
	case <-done:
	case <-g.ctx.Done():
		select {
		case <-done:
		case <-time.After(g.timeout):
			g.mu.Lock()
			g.errs = append(g.errs, fmt.Errorf("shutdown did not finish within %s", g.timeout))
			g.mu.Unlock()
		}
	}
	g.cancel()
	g.mu.Lock()
	defer g.mu.Unlock()
	return errors.Join(g.errs...)
}
