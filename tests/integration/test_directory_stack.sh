#!/bin/sh
# test_directory_stack.sh - smoke test of the stack's directory component
# (scripts/components/directory): Samba AD + OpenLDAP with the demo users.
#
# Runs itself inside scripts/netns-run (loopback only). Starts the component in a
# temporary DIR, checks over LDAPS and StartTLS (CA verified) what apid relies on, stops
# it the way scripts/stack down does, and checks nothing is left running; then the same
# with VR_DIRECTORY=openldap. Keeps DIR when something failed (VR_KEEP_DIR=1: always).
# Last line: "N passed, N failed"; exit status non-zero on any failure.
set -u

ROOT=$(cd "$(dirname "$0")/../.." && pwd)
if [ "${VR_IN_NETNS:-}" != 1 ]; then
	exec "$ROOT/scripts/netns-run" /bin/sh "$ROOT/tests/integration/test_directory_stack.sh" "$@"
fi

passed=0
failed=0
ok() {
	passed=$((passed + 1))
	printf 'ok   - %s\n' "$1"
}
ko() {
	failed=$((failed + 1))
	printf 'FAIL - %s\n' "$1"
	if [ -n "${2:-}" ]; then printf '%s\n' "$2" | head -n 15 | sed 's/^/       /'; fi
}
# expect NAME PATTERN CMD... - CMD succeeds and its output contains PATTERN
expect() {
	name=$1 pat=$2
	shift 2
	if out=$("$@" 2>&1) && case $out in *"$pat"*) true ;; *) false ;; esac then
		ok "$name"
	else
		ko "$name" "$out"
	fi
}
# refuse NAME PATTERN CMD... - CMD fails and its output contains PATTERN
refuse() {
	name=$1 pat=$2
	shift 2
	if out=$("$@" 2>&1); then
		ko "$name (unexpectedly succeeded)" "$out"
	else
		case $out in
		*"$pat"*) ok "$name" ;;
		*) ko "$name (want '$pat')" "$out" ;;
		esac
	fi
}
# absent NAME PATTERN CMD... - CMD succeeds and its output does not contain PATTERN
absent() {
	name=$1 pat=$2
	shift 2
	if out=$("$@" 2>&1) && case $out in *"$pat"*) false ;; *) true ;; esac then
		ok "$name"
	else
		ko "$name" "$out"
	fi
}

# ls_ CAFILE URI [ldapsearch args] - simple bind, CA verified (StartTLS for ldap://)
ls_() {
	ca=$1 uri=$2
	shift 2
	tls=""
	case $uri in ldap://*) tls=-ZZ ;; esac
	LDAPTLS_CACERT=$ca LDAPTLS_REQCERT=demand \
		ldapsearch -LLL -o nettimeout=5 -o ldif-wrap=no $tls -H "$uri" -x "$@"
}
ad() { ls_ "$VR_AD_CA_FILE" "$@"; }
# adsvc [ldapsearch args] - as the AD search account over LDAPS, from the base DN
adsvc() { ls_ "$VR_AD_CA_FILE" "$VR_AD_URI" -D "$VR_AD_BIND_DN" -w "$VR_AD_BIND_PASSWORD" \
	-b "$VR_AD_BASE_DN" "$@"; }
ol() { ls_ "$VR_LDAP_CA_FILE" "$@"; }
ad_plain() {
	LDAPTLS_CACERT=$VR_AD_CA_FILE ldapsearch -LLL -o nettimeout=5 -H "$VR_AD_STARTTLS_URI" -x "$@"
}

# stop_and_check DIR - stop like `scripts/stack down`, then nothing of DIR may run
stop_and_check() {
	d=$1
	pids=$(cat "$d/pids/directory" 2>/dev/null || true)
	if [ -z "$pids" ]; then
		ko "PIDs recorded in $d/pids/directory"
	fi
	if VR_STACK_COMPONENTS=directory "$ROOT/scripts/stack" down "$d" >/dev/null 2>&1; then
		ok "scripts/stack down"
	else
		ko "scripts/stack down"
	fi
	left=""
	for p in $pids; do kill -0 "$p" 2>/dev/null && left="$left $p"; done
	# shellcheck disable=SC2009 # pgrep -f takes a regex; DIR is a literal
	stray=$(ps -eo pid=,args= | grep -F "$d/" | grep -v grep || true)
	if [ -z "$left" ] && [ -z "$stray" ]; then
		ok "nothing left running ($(echo "$pids" | wc -w) recorded PIDs stopped)"
	else
		ko "processes left after down:$left" "$stray"
	fi
}

DIR=$(mktemp -d /tmp/vrdir.XXXXXX)
echo "# DIR=$DIR"

# ------------------------------------------------------------------ both servers
t0=$(date +%s%N)
if out=$("$ROOT/scripts/components/directory" up "$DIR" 2>&1); then
	t1=$(date +%s%N)
	ok "directory up ($(((t1 - t0) / 1000000)) ms)"
else
	ko "directory up" "$out"
	stop_and_check "$DIR"
	echo "$passed passed, $failed failed"
	exit 1
fi
# shellcheck disable=SC1091
. "$DIR/env/directory.env"

base=$VR_AD_BASE_DN
chain="memberOf:1.2.840.113556.1.4.1941:"
expect "AD LDAPS search as vrgate-svc: alice's alias in proxyAddresses" \
	"proxyAddresses: smtp:$VR_AD_USER_ALIAS" \
	adsvc "(sAMAccountName=$VR_AD_USER)" proxyAddresses
expect "AD: alice's mail and second alias" "proxyAddresses: smtp:sales@corp.test" \
	adsvc "(mail=alice@corp.test)" proxyAddresses
expect "AD: alice found by alias (proxyAddresses=smtp:a.martin@...)" "sAMAccountName: alice" \
	adsvc "(proxyAddresses=smtp:$VR_AD_USER_ALIAS)" sAMAccountName
expect "AD in-chain rule: bob is in vrgate-admins (through IT-Staff)" "sAMAccountName: bob" \
	adsvc "(&(objectClass=user)($chain=$VR_AD_ADMIN_GROUP_DN))" sAMAccountName
absent "AD: bob is not a direct member of vrgate-admins" "sAMAccountName: bob" \
	adsvc "(memberOf=$VR_AD_ADMIN_GROUP_DN)" sAMAccountName
absent "AD in-chain rule: alice is not an admin" "sAMAccountName: alice" \
	adsvc "(&(objectClass=user)($chain=$VR_AD_ADMIN_GROUP_DN))" sAMAccountName
expect "AD: carol is in vrgate-helpdesk" "sAMAccountName: carol" \
	adsvc "($chain=$VR_AD_HELPDESK_GROUP_DN)" sAMAccountName
expect "AD: alice binds over LDAPS (UPN)" "dn: $base" \
	ad "$VR_AD_URI" -D "$VR_AD_USER_UPN" -w "$VR_AD_PASSWORD" -b "$base" -s base 1.1
expect "AD: alice binds over StartTLS (CORP\\alice)" "dn: $base" \
	ad "$VR_AD_STARTTLS_URI" -D "$VR_AD_DOMAIN\\$VR_AD_USER" -w "$VR_AD_PASSWORD" \
	-b "$base" -s base 1.1
expect "AD: bob binds over LDAPS (his DN)" "dn: $base" \
	ad "$VR_AD_URI" -D "$VR_AD_ADMIN_DN" -w "$VR_AD_ADMIN_PASSWORD" -b "$base" -s base 1.1
refuse "AD: simple bind without TLS is refused" "Strong(er) authentication required" \
	ad_plain -D "$VR_AD_USER_UPN" -w "$VR_AD_PASSWORD" -b "$base" -s base 1.1
refuse "AD: alice with a wrong password fails (52e)" "data 52e" \
	ad "$VR_AD_URI" -D "$VR_AD_USER_UPN" -w "Wrong-Pass-123" -b "$base" -s base 1.1
refuse "AD: disabled dave cannot bind (533)" "data 533" \
	ad "$VR_AD_URI" -D "$VR_AD_DISABLED_USER@$VR_AD_REALM" -w "$VR_AD_DISABLED_PASSWORD" \
	-b "$base" -s base 1.1
refuse "AD: locked-out erin cannot bind (775)" "data 775" \
	ad "$VR_AD_URI" -D "$VR_AD_LOCKED_USER@$VR_AD_REALM" -w "$VR_AD_LOCKED_PASSWORD" \
	-b "$base" -s base 1.1
other_ca=$DIR/other-ca.crt
certtool --generate-privkey --outfile "$DIR/other-ca.key" >/dev/null 2>&1 &&
	printf 'cn = "other CA"\nca\ncert_signing_key\nexpiration_days = 2\n' >"$DIR/other-ca.tmpl" &&
	certtool --generate-self-signed --load-privkey "$DIR/other-ca.key" \
		--template "$DIR/other-ca.tmpl" --outfile "$other_ca" >/dev/null 2>&1
refuse "AD: LDAPS against another CA is refused (the CA is verified)" "Can't contact" \
	ls_ "$other_ca" "$VR_AD_URI" -D "$VR_AD_USER_UPN" -w "$VR_AD_PASSWORD" -b "$base" -s base 1.1

lbase=$VR_LDAP_BASE_DN
olivia_dn="uid=$VR_LDAP_USER,ou=people,$lbase"
expect "OpenLDAP: olivia binds over LDAPS and reads her two mail values" \
	"mail: olivia.alias@corp.test" \
	ol "$VR_LDAPS_URI" -D "$olivia_dn" -w "$VR_LDAP_PASSWORD" -b "$olivia_dn" -s base mail
expect "OpenLDAP: olivia binds over StartTLS" "dn: $olivia_dn" \
	ol "$VR_LDAP_URI" -D "$olivia_dn" -w "$VR_LDAP_PASSWORD" -b "$olivia_dn" -s base 1.1
refuse "OpenLDAP: olivia with a wrong password fails" "Invalid credentials" \
	ol "$VR_LDAPS_URI" -D "$olivia_dn" -w "wrong" -b "$olivia_dn" -s base 1.1
expect "OpenLDAP: search account finds olivia by her alias" "uid: olivia" \
	ol "$VR_LDAPS_URI" -D "$VR_LDAP_BIND_DN" -w "$VR_LDAP_BIND_PASSWORD" -b "$lbase" \
	"(mail=olivia.alias@corp.test)" uid
expect "OpenLDAP: oscar's memberOf names vrgate-admins" "memberOf: $VR_LDAP_ADMIN_GROUP_DN" \
	ol "$VR_LDAPS_URI" -D "$VR_LDAP_BIND_DN" -w "$VR_LDAP_BIND_PASSWORD" -b "$lbase" \
	"(uid=$VR_LDAP_ADMIN)" memberOf
expect "OpenLDAP: oscar binds over LDAPS" "uid: oscar" \
	ol "$VR_LDAPS_URI" -D "uid=$VR_LDAP_ADMIN,ou=people,$lbase" -w "$VR_LDAP_ADMIN_PASSWORD" \
	-b "$lbase" "(uid=$VR_LDAP_ADMIN)" uid
refuse "OpenLDAP: anonymous users read nothing" "No such object" \
	ol "$VR_LDAPS_URI" -b "$olivia_dn" -s base mail

case " $VR_DIRECTORY_MAILBOXES " in
*" a.martin@corp.test "*" olivia.alias@corp.test "*) ok "VR_DIRECTORY_MAILBOXES lists the aliases" ;;
*) ko "VR_DIRECTORY_MAILBOXES lists the aliases" "$VR_DIRECTORY_MAILBOXES" ;;
esac

stop_and_check "$DIR"

# ------------------------------------------------------------------ OpenLDAP only
DIR2=$DIR/openldap-only
mkdir -p "$DIR2"
if out=$(VR_DIRECTORY=openldap "$ROOT/scripts/components/directory" up "$DIR2" 2>&1); then
	if grep -q '^VR_AD_URI=' "$DIR2/env/directory.env" || ! grep -q '^VR_LDAPS_URI=' "$DIR2/env/directory.env"; then
		ko "VR_DIRECTORY=openldap offers only OpenLDAP" "$(cat "$DIR2/env/directory.env")"
	else
		ok "VR_DIRECTORY=openldap offers only OpenLDAP"
	fi
	if (
		# shellcheck disable=SC1091
		. "$DIR2/env/directory.env"
		ol "$VR_LDAPS_URI" -D "uid=$VR_LDAP_USER,ou=people,$VR_LDAP_BASE_DN" \
			-w "$VR_LDAP_PASSWORD" -b "$VR_LDAP_BASE_DN" -s base 1.1
	) >/dev/null 2>&1; then
		ok "VR_DIRECTORY=openldap: olivia binds"
	else
		ko "VR_DIRECTORY=openldap: olivia binds"
	fi
else
	ko "VR_DIRECTORY=openldap up" "$out"
fi
stop_and_check "$DIR2"

if [ "$failed" -eq 0 ] && [ "${VR_KEEP_DIR:-0}" != 1 ]; then
	rm -rf "$DIR"
else
	echo "# state kept in $DIR"
fi
echo "$passed passed, $failed failed"
[ "$failed" -eq 0 ]
