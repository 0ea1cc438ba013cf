package jobs

// SubjectPrefix is the first token of every job subject.
const SubjectPrefix = "cinch.jobs"

// SubjectAll matches the subject of every job (the stream's subject filter).
const SubjectAll = SubjectPrefix + ".>"

// Subject is the subject a job for a workload in namespace is published on:
// cinch.jobs.<namespace>. Namespace names are DNS labels, so they are a single
// valid subject token.
func Subject(namespace string) string { return SubjectPrefix + "." + namespace }

// MsgID is the JetStream message id (Nats-Msg-Id) of the job for one pod
// template of one workload object. Within the stream's duplicate window the
// server stores one message per id, so repeated admission calls for the same
// change, and resync racing admission, enqueue one job.
func MsgID(uid, hash string) string { return uid + ":" + hash }
