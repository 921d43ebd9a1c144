#!/usr/bin/python3
# samba-ad.py TARGETDIR [NAME=VALUE...] - provision the demo Samba AD domain (CORP /
# corp.test) under TARGETDIR, with the extra smb.conf options NAME=VALUE, and fill it with
# vrgate's demo users, aliases and nested groups, writing sam.ldb directly (samba must not
# be running). One Python process does both, which saves a second start-up and schema
# load. Writes TARGETDIR/demo-dns.txt: "NAME<TAB>DN" for each demo user and group.
#
# Run with /usr/bin/python3 (Debian's python3-samba). Passwords come from the
# environment (set by scripts/components/directory):
#   VR_AD_ADMINISTRATOR_PASSWORD  Administrator
#   VR_AD_BIND_PASSWORD  vrgate-svc      VR_AD_PASSWORD            alice
#   VR_AD_ADMIN_PASSWORD bob             VR_AD_HELPDESK_PASSWORD   carol
#   VR_AD_DISABLED_PASSWORD dave         VR_AD_LOCKED_PASSWORD     erin
#   VR_AD_AUDITOR_PASSWORD frank
# erin gets a fine-grained password policy (PSO) with a lockout threshold of 1, so that
# one failed bind (done by the component once samba runs) locks her out, while the
# domain policy keeps its default (no lockout) for everybody else.
#
# Speed: provisioning is CPU-bound (~4.5 s here). The display specifiers (MMC UI strings,
# 1400 entries in 25 languages, ~1 s) are trimmed to English and French; nothing that
# speaks LDAP uses them.
import os
import re
import sys

import ldb
import samba.provision
from samba import dsdb
from samba.auth import system_session
from samba.netcmd.main import cmd_sambatool
from samba.param import LoadParm
from samba.samdb import SamDB

REALM = "CORP.TEST"
DOMAIN = "CORP"
MAIL_DOMAIN = "corp.test"
DC_IP = "127.0.0.2"

# sAMAccountName, given name, surname, password variable, proxyAddresses (first = primary)
USERS = [
    ("vrgate-svc", None, None, "VR_AD_BIND_PASSWORD", []),
    ("alice", "Alice", "Martin", "VR_AD_PASSWORD",
     ["SMTP:alice@corp.test", "smtp:a.martin@corp.test", "smtp:sales@corp.test"]),
    ("bob", "Bob", "Durand", "VR_AD_ADMIN_PASSWORD",
     ["SMTP:bob@corp.test", "smtp:it@corp.test"]),
    ("carol", "Carol", "Petit", "VR_AD_HELPDESK_PASSWORD", ["SMTP:carol@corp.test"]),
    ("dave", "Dave", "Bernard", "VR_AD_DISABLED_PASSWORD", ["SMTP:dave@corp.test"]),
    ("erin", "Erin", "Moreau", "VR_AD_LOCKED_PASSWORD", ["SMTP:erin@corp.test"]),
    ("frank", "Frank", "Roux", "VR_AD_AUDITOR_PASSWORD", ["SMTP:frank@corp.test"]),
]
GROUPS = ["vrgate-admins", "vrgate-helpdesk", "vrgate-auditors", "IT-Staff"]
# group -> members (sAMAccountNames of users or groups)
MEMBERS = {
    "IT-Staff": ["bob"],
    "vrgate-admins": ["IT-Staff"],  # nested: bob is admin only through IT-Staff
    "vrgate-helpdesk": ["carol"],
    "vrgate-auditors": ["frank"],
}
KEEP_LOCALES = ("409", "40C")


def trim_display_specifiers():
    orig = samba.provision.read_ms_ldif

    def read(filename):
        text = orig(filename)
        if "DisplaySpecifiers" not in os.path.basename(filename):
            return text
        keep = []
        for entry in text.split("\n\n"):
            m = re.match(r"dn: (?:[^\n]*,)?CN=([0-9A-Fa-f]+),CN=DisplaySpecifiers,", entry)
            if m is None or m.group(1).upper() in KEEP_LOCALES:
                keep.append(entry)
        return "\n\n".join(keep)

    samba.provision.read_ms_ldif = read


def provision(target, options):
    empty = os.path.join(target, "empty.conf")
    open(empty, "w").close()
    trim_display_specifiers()
    rc = cmd_sambatool()._run(
        "samba-tool", "domain", "provision", "--quiet",
        "-s", empty, "--targetdir=" + target,
        "--realm=" + REALM, "--domain=" + DOMAIN, "--server-role=dc",
        "--dns-backend=NONE", "--host-name=dc1", "--host-ip=" + DC_IP,
        "--adminpass=" + os.environ["VR_AD_ADMINISTRATOR_PASSWORD"],
        # a /8 mask: 127.0.0.2 need not be configured on lo for samba to bind it
        "--option=interfaces=%s/8" % DC_IP,
        "--option=bind interfaces only=yes",
        "--option=server services=ldap",
        *["--option=" + o for o in options])
    if rc:
        sys.exit("samba-ad: provision failed (%s)" % rc)


def dn_of(samdb, name):
    res = samdb.search(base=samdb.domain_dn(), scope=ldb.SCOPE_SUBTREE,
                       expression="(sAMAccountName=%s)" % ldb.binary_encode(name),
                       attrs=["dn"])
    if len(res) != 1:
        raise Exception("cannot find %s" % name)
    return str(res[0].dn)


def populate(conf, out):
    lp = LoadParm()
    lp.load(conf)
    samdb = SamDB(url=lp.samdb_url(), session_info=system_session(), lp=lp)
    base = samdb.domain_dn()

    samdb.transaction_start()
    try:
        for g in GROUPS:
            samdb.newgroup(g, description="vrgate demo group")
        for sam, given, sn, pwvar, proxies in USERS:
            if given:
                # CN is the display name ("CN=Alice Martin"), as in a real AD
                kw = {"givenname": given, "surname": sn, "useusernameascn": None,
                      "mailaddress": "%s@%s" % (sam, MAIL_DOMAIN)}
            else:
                kw = {"description": "vrgate directory search account"}
            samdb.newuser(sam, os.environ[pwvar], **kw)
            if proxies:
                m = ldb.Message(ldb.Dn(samdb, dn_of(samdb, sam)))
                m["proxyAddresses"] = ldb.MessageElement(
                    proxies, ldb.FLAG_MOD_REPLACE, "proxyAddresses")
                samdb.modify(m)
            # demo passwords never expire (a demo stack may outlive the 42-day default)
            samdb.setexpiry("(sAMAccountName=%s)" % sam, 0, no_expiry_req=True)
        for g, members in MEMBERS.items():
            m = ldb.Message(ldb.Dn(samdb, dn_of(samdb, g)))
            m["member"] = ldb.MessageElement([dn_of(samdb, x) for x in members],
                                             ldb.FLAG_MOD_ADD, "member")
            samdb.modify(m)
        samdb.toggle_userAccountFlags("(sAMAccountName=dave)", dsdb.UF_ACCOUNTDISABLE,
                                      on=True)

        def minutes(n):
            return str(-int(n) * 60 * 10**7)

        samdb.add({
            "dn": "CN=vrgate-lockout,CN=Password Settings Container,CN=System," + base,
            "objectClass": "msDS-PasswordSettings",
            "msDS-PasswordSettingsPrecedence": "1",
            "msDS-PasswordReversibleEncryptionEnabled": "FALSE",
            "msDS-PasswordHistoryLength": "0",
            "msDS-PasswordComplexityEnabled": "TRUE",
            "msDS-MinimumPasswordLength": "7",
            "msDS-MinimumPasswordAge": "0",
            "msDS-MaximumPasswordAge": minutes(99999),
            "msDS-LockoutThreshold": "1",
            "msDS-LockoutObservationWindow": minutes(99999),
            "msDS-LockoutDuration": minutes(99999),
            "msDS-PSOAppliesTo": dn_of(samdb, "erin"),
        })
    except BaseException:
        samdb.transaction_cancel()
        raise
    samdb.transaction_commit()

    # the DNs the component exports
    with open(out, "w") as f:
        for name in [u[0] for u in USERS] + GROUPS:
            f.write("%s\t%s\n" % (name, dn_of(samdb, name)))


def main():
    if len(sys.argv) < 2:
        sys.exit("usage: samba-ad.py TARGETDIR [NAME=VALUE...]")
    target = os.path.abspath(sys.argv[1])
    provision(target, sys.argv[2:])
    populate(os.path.join(target, "etc", "smb.conf"), os.path.join(target, "demo-dns.txt"))


if __name__ == "__main__":
    main()
