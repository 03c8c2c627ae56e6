"""faxd's bridge to one running LibreOffice (soffice --accept=pipe,name=NAME;urp;).

Usage: /usr/bin/python3 -I office_bridge.py PIPE_NAME PROFILE_URL

faxd embeds this file in its binary (office_pool.cpp), writes it into each instance's private directory and
runs it with the distribution's python3, which has the `uno` module. It first names the sockets soffice
will make, {"ok": true, "sockets": [...]} (faxd starts soffice only then), connects to the named pipe
(retrying while soffice starts) and answers {"ok": true, "ready": true}. Then it reads one JSON request per
line on stdin,
    {"input": "/abs/in.docx", "output": "/abs/out.pdf"}
and answers one line on stdout: {"ok": true, "pages": N} or {"ok": false, "error": "reason"} (with
"encrypted": true for a password-protected document). One document at a time; faxd enforces the timeouts and
kills both processes when one hangs. End of input asks soffice to terminate.
"""

import hashlib
import json
import os
import re
import sys
import time
import zipfile

import uno
from com.sun.star.beans import PropertyValue
from com.sun.star.connection import NoConnectException
from com.sun.star.document.MacroExecMode import NEVER_EXECUTE
from com.sun.star.document.UpdateDocMode import NO_UPDATE
from com.sun.star.lang import DisposedException

CONNECT_SECONDS = 30

# The first of these services that a loaded document supports picks its PDF export filter.
EXPORT_FILTERS = (
    ("com.sun.star.text.WebDocument", "writer_web_pdf_Export"),
    ("com.sun.star.text.TextDocument", "writer_pdf_Export"),
    ("com.sun.star.sheet.SpreadsheetDocument", "calc_pdf_Export"),
    ("com.sun.star.presentation.PresentationDocument", "impress_pdf_Export"),
    ("com.sun.star.drawing.DrawingDocument", "draw_pdf_Export"),
)

# LibreOffice writes no object streams, so every page object of its PDF is visible as "/Type/Page".
PAGE_OBJECT = re.compile(rb"/Type\s*/Page(?![A-Za-z])")
OLE2_MAGIC = b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1"


def properties(**values):
    return tuple(PropertyValue(Name=name, Value=value) for name, value in values.items())


def connect(pipe_name):
    local = uno.getComponentContext()
    resolver = local.ServiceManager.createInstanceWithContext("com.sun.star.bridge.UnoUrlResolver", local)
    deadline = time.monotonic() + CONNECT_SECONDS
    while True:
        try:
            context = resolver.resolve(f"uno:pipe,name={pipe_name};urp;StarOffice.ComponentContext")
            break
        except NoConnectException:
            if time.monotonic() > deadline:
                raise
            time.sleep(0.1)
    harden(context)
    return context.ServiceManager.createInstanceWithContext("com.sun.star.frame.Desktop", context)


def harden(context):
    """Macros off for good and no linked images fetched from the network, whatever a document asks for."""
    provider = context.ServiceManager.createInstanceWithContext(
        "com.sun.star.configuration.ConfigurationProvider", context)
    access = provider.createInstanceWithArguments(
        "com.sun.star.configuration.ConfigurationUpdateAccess",
        properties(nodepath="/org.openoffice.Office.Common/Security/Scripting"))
    access.setPropertyValue("MacroSecurityLevel", 3)
    access.setPropertyValue("DisableMacrosExecution", True)
    access.setPropertyValue("BlockUntrustedRefererLinks", True)
    access.commitChanges()


def socket_files(pipe_name, profile_url):
    """The sockets soffice makes in /tmp and leaves there when it is killed, for faxd to remove: the --accept
    pipe and the single-instance pipe, named by LibreOffice after the MD5 of the profile URL in UTF-16 (each
    byte in hex without padding)."""
    digest = hashlib.md5(profile_url.encode("utf-16-le")).digest()
    prefix = f"/tmp/OSL_PIPE_{os.getuid()}_"
    return [prefix + pipe_name, prefix + "SingleOfficeIPC_" + "".join(f"{byte:x}" for byte in digest)]


def password_protected(path):
    """LibreOffice only says that it could not open a document; these are the usual password forms."""
    try:
        with zipfile.ZipFile(path) as package:  # ODF: encrypted entries are listed in the manifest
            return b"encryption-data" in package.read("META-INF/manifest.xml")
    except (OSError, KeyError, zipfile.BadZipFile):
        pass
    with open(path, "rb") as file:  # OOXML with a password: an OLE2 file with an EncryptionInfo stream
        head = file.read(1 << 20)
    return head.startswith(OLE2_MAGIC) and "EncryptionInfo".encode("utf-16-le") in head


def open_failure(path, exception):
    if password_protected(path):
        return {"ok": False, "error": "the document is protected by a password", "encrypted": True}
    detail = getattr(exception, "Message", "").split(" at ./")[0] if exception else ""
    reason = "LibreOffice cannot open the document (damaged or not an office file)"
    return {"ok": False, "error": reason + (f": {detail}" if detail else "")}


def convert(desktop, source, target):
    # Hidden: no interaction handler either, so nothing can wait for an answer; links and macros stay inert.
    load = properties(Hidden=True, ReadOnly=True, MacroExecutionMode=uno.Any("short", NEVER_EXECUTE),
                      UpdateDocMode=uno.Any("short", NO_UPDATE))
    try:
        document = desktop.loadComponentFromURL(uno.systemPathToFileUrl(source), "_blank", 0, load)
    except DisposedException:
        raise
    except Exception as exception:  # IllegalArgumentException, IOException, ... all mean "cannot open"
        return open_failure(source, exception)
    if document is None:
        return open_failure(source, None)
    try:
        export = next((f for service, f in EXPORT_FILTERS if document.supportsService(service)), None)
        if export is None:
            return {"ok": False, "error": "LibreOffice opened it, but it is no printable document"}
        document.storeToURL(uno.systemPathToFileUrl(target), properties(FilterName=export))
    finally:
        try:
            document.close(True)
        except Exception:
            document.dispose()
    with open(target, "rb") as pdf:
        pages = len(PAGE_OBJECT.findall(pdf.read()))
    if pages == 0:
        return {"ok": False, "error": "the document has no pages to print"}
    return {"ok": True, "pages": pages}


def reply(answer):
    sys.stdout.write(json.dumps(answer) + "\n")
    sys.stdout.flush()


def main():
    if len(sys.argv) != 3:
        sys.exit("usage: office_bridge.py PIPE_NAME PROFILE_URL")
    pipe_name, profile_url = sys.argv[1:]
    reply({"ok": True, "sockets": socket_files(pipe_name, profile_url)})
    try:
        desktop = connect(pipe_name)
    except Exception as exception:
        reply({"ok": False, "error": f"cannot connect to LibreOffice: {exception}"})
        return 1
    reply({"ok": True, "ready": True})
    while line := sys.stdin.buffer.readline():
        try:
            request = json.loads(line.decode("utf-8", "surrogateescape"))
            reply(convert(desktop, request["input"], request["output"]))
        except DisposedException:
            reply({"ok": False, "error": "LibreOffice went away during the conversion"})
            return 1
        except Exception as exception:  # a bad request or an export failure: report it, serve the next one
            reply({"ok": False, "error": f"{type(exception).__name__}: {exception}"})
    try:
        desktop.terminate()  # end of input: soffice exits cleanly, and its launcher reaps it
    except Exception:
        pass  # the connection closes as soffice goes away
    return 0


if __name__ == "__main__":
    sys.exit(main())
