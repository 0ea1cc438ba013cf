// Package admissionjobs connects pkg/admission to the job queue: it adapts
// a queue of wire jobs (the webhook's *jobs.Buffer) to admission.Publisher,
// turning each admission.Job into a versioned jobs.Job with reason
// admission. pkg/admission declares its own small Job and Publisher and
// imports nothing internal; the webhook binary wires them together here.
package admissionjobs
