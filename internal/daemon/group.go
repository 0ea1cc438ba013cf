package daemon

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"time"

	"github.com/go-logr/logr"
)

// Group runs long-running parts until the first one fails or the parent
// context ends, then cancels the rest and waits for them at most the
// shutdown timeout.
type Group struct {
	ctx     context.Context
	cancel  context.CancelFunc
	timeout time.Duration
	wg      sync.WaitGroup
	mu      sync.Mutex
	errs    []error
}

// NewGroup returns a group and its context, which ends when the parent
// ends, a part fails or Cancel is called.
func NewGroup(parent context.Context, timeout time.Duration) (*Group, context.Context) {
	ctx, cancel := context.WithCancel(parent)
	return &Group{ctx: ctx, cancel: cancel, timeout: timeout}, ctx
}

// Go runs start(ctx); an error from it stops the group, a nil return does
// not.
func (g *Group) Go(name string, start func(context.Context) error) {
	g.wg.Go(func() {
		if err := start(g.ctx); err != nil {
			g.mu.Lock()
			g.errs = append(g.errs, fmt.Errorf("%s: %w", name, err))
			g.mu.Unlock()
			logr.FromContextOrDiscard(g.ctx).Info("Stopping", "failed", name)
			g.cancel()
		}
	})
}

// Cancel stops the group's parts; Wait still waits for them.
func (g *Group) Cancel() { g.cancel() }

// Wait blocks until every part has returned (or the shutdown bound passed
// after the group was cancelled) and returns their errors.
func (g *Group) Wait() error {
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
