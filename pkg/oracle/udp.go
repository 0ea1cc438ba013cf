package oracle

import "strconv"

// ProtocolUDP is ProbeObservation.Protocol (and Evidence.Protocol) of a UDP
// port; TCP is the empty string.
const ProtocolUDP = "UDP"

// dnsRcodes names the DNS response codes of RFC 1035 and RFC 2136 and
// their class.
var dnsRcodes = [...]struct{ class, name string }{
	0:  {"success", "NOERROR"},
	1:  {"format-error", "FORMERR"},
	2:  {"server-failure", "SERVFAIL"},
	3:  {"name-error", "NXDOMAIN"},
	4:  {"not-implemented", "NOTIMP"},
	5:  {"refused", "REFUSED"},
	6:  {"update-error", "YXDOMAIN"},
	7:  {"update-error", "YXRRSET"},
	8:  {"update-error", "NXRRSET"},
	9:  {"not-authoritative", "NOTAUTH"},
	10: {"update-error", "NOTZONE"},
}

// DNSAnswer is the answer of a DNS port to the probe's query: "dns", the
// class of the response code as a word and its name, e.g. "dns success
// NOERROR" or "dns server-failure SERVFAIL". Only the response code is
// kept: the records depend on the zone, the class tells a working server
// from a failing one.
func DNSAnswer(rcode int) string {
	if rcode >= 0 && rcode < len(dnsRcodes) {
		r := dnsRcodes[rcode]
		return "dns " + r.class + " " + r.name
	}
	return "dns unknown-class RCODE" + strconv.Itoa(rcode)
}

// DatagramAnswer is the answer of a UDP port that replied to the probe's
// datagram with raw (a reply of its own protocol); binary replies become
// "reply binary", empty ones "reply (empty)".
func DatagramAnswer(raw string) string {
	if raw == "" {
		return "reply (empty)"
	}
	return ReplyAnswer(raw)
}
