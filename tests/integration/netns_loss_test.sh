#!/usr/bin/env bash
# A T.38 fax between two faxd instances completes with 5% random UDP loss (SIP, RTP and UDPTL alike).
# The loss comes from nftables in a network namespace of our own (netem is not in this kernel), so the host's
# loopback and other jobs are untouched. Needs root; exits 77 (ctest: skipped) where namespaces are not allowed.
# Usage: netns_loss_test.sh FAXD FAXCTL MAKE_TEST_FAX
set -euo pipefail
FAXD=$1 FAXCTL=$2 MAKE_TEST_FAX=$3
LOSS_PERCENT=${LOSS_PERCENT:-5}

if [ "$(id -u)" -ne 0 ] || ! command -v nft >/dev/null; then echo "SKIP: needs root and nft"; exit 77; fi
NS="faxloss$$"
WORK=$(mktemp -d /tmp/faxd_netns.XXXXXX)
cleanup() {
    [ -n "${B_PID:-}" ] && kill "$B_PID" 2>/dev/null && wait "$B_PID" 2>/dev/null || true
    ip netns del "$NS" 2>/dev/null || true
    rm -rf "$WORK"
}
trap cleanup EXIT
if ! ip netns add "$NS" 2>/dev/null; then echo "SKIP: cannot create a network namespace"; exit 77; fi
ip -n "$NS" link set lo up
# Drop in the input hook: a drop on output would make sendto() fail instead of losing the packet.
ip netns exec "$NS" nft -f - <<NFT
table inet chaos {
  chain in {
    type filter hook input priority 0; policy accept;
    meta l4proto udp numgen random mod 100 < $LOSS_PERCENT counter drop
  }
}
NFT

cat > "$WORK/b.toml" <<TOML
[spool]
directory = "$WORK/spool"
[sip]
port = 40000
[media]
port_min = 0
[http]
enabled = false
TOML
cat > "$WORK/a.toml" <<TOML
[media]
port_min = 0
[[routes]]
name = "b"
gateways = [ { host = "127.0.0.1", port = 40000 } ]
TOML
"$MAKE_TEST_FAX" "$WORK/doc.tif" 2 short
ip netns exec "$NS" "$FAXD" --config "$WORK/b.toml" > "$WORK/b.log" 2>&1 &
B_PID=$!
for _ in $(seq 100); do grep -q "receiving faxes" "$WORK/b.log" && break; sleep 0.1; done

RESULT=$(ip netns exec "$NS" "$FAXCTL" dial --config "$WORK/a.toml" --to 100 --log-level info "$WORK/doc.tif" \
         2> "$WORK/a.log" || true)
DROPPED=$(ip netns exec "$NS" nft list ruleset | sed -n 's/.*counter packets \([0-9]*\).*/\1/p')
echo "result: $RESULT"
echo "datagrams dropped by nftables: $DROPPED"
fail() { echo "FAIL: $*"; echo "--- a.log"; tail -30 "$WORK/a.log"; echo "--- b.log"; tail -30 "$WORK/b.log"; exit 1; }
echo "$RESULT" | grep -q '"ok":true' || fail "the fax did not go through"
echo "$RESULT" | grep -q '"transport":"t38"' || fail "the fax did not use T.38"
echo "$RESULT" | grep -q '"pages":2' || fail "not every page was confirmed"
[ "${DROPPED:-0}" -gt 0 ] || fail "nothing was dropped: the test proved nothing"
echo "PASS: T.38 fax complete through ${LOSS_PERCENT}% UDP loss ($DROPPED datagrams dropped)"
