// Package oracle is Cinch's black-box functionality oracle: the Drain
// log-template miner, masking of raw log lines, log, resource, service-answer
// and app-metrics comparison against two baselines, and the verdict of one
// trial. It is pure: plain data in, plain data out; no client-go, no NATS.
package oracle
