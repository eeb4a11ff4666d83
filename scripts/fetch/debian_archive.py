"""Reading the Debian archive index (Packages) and its description
translations (Translation-en, Translation-es), shared by the
debian-section-* task fetchers.

The index is fetched by `apt-get update` into a private lists directory
under the fetch cache (Dir::State::Lists, Dir::Cache), with the languages
asked for on the command line (Acquire::Languages), so the system's apt
state and configuration stay untouched (Debian's container images set
Acquire::Languages "none", which the empty -o Acquire::Languages= clears).
The sources are the system's own (/etc/apt/sources.list*). Of the fetched
files, only the release's own suite (its codename, e.g. bookworm, not
-updates or -security) and its main component are read; apt-helper cat-file
decompresses whatever compression apt chose to store.
"""
import os
import re
import subprocess

import common


def fetch_lists(languages):
    """Runs apt-get update into the private lists directory; returns its path."""
    base = os.path.join(common.cache_dir(), "apt-index")
    lists = os.path.join(base, "lists")
    os.makedirs(os.path.join(lists, "partial"), exist_ok=True)
    os.makedirs(os.path.join(base, "cache"), exist_ok=True)
    cmd = ["apt-get", "update", "-qq", "-o", f"Dir::State::Lists={lists}",
           "-o", f"Dir::Cache={os.path.join(base, 'cache')}", "-o", "Acquire::Languages="]
    for lang in languages:
        cmd += ["-o", f"Acquire::Languages::={lang}"]
    common.run(cmd)
    return lists


def codename():
    with open("/etc/os-release") as f:
        m = re.search(r"^VERSION_CODENAME=(\S+)", f.read(), re.M)
    if not m:
        raise SystemExit("fetch: /etc/os-release has no VERSION_CODENAME")
    return m.group(1).strip('"')


def find_list(lists, suffix):
    """The one file of the private lists directory named
    <release prefix>_main_<suffix>[.compression], the release prefix being
    find_release()'s (so a third-party repository that also calls its suite
    by the codename is never read)."""
    prefix = os.path.basename(find_release(lists))[:-len("_InRelease")] + "_main_"
    pat = re.compile(re.escape(prefix + suffix) + r"(\.\w+)?$")
    found = sorted(f for f in os.listdir(lists) if pat.match(f))
    if len(found) != 1:
        raise SystemExit(f"fetch: expected one {prefix}{suffix} in {lists}, found {found}")
    return os.path.join(lists, found[0])


def read_list(path):
    out = subprocess.run(["/usr/lib/apt/apt-helper", "cat-file", path], stdout=subprocess.PIPE)
    if out.returncode != 0:
        raise SystemExit(f"fetch: apt-helper cat-file {path} failed")
    return out.stdout.decode("utf-8", errors="replace")


def stanzas(text):
    """Deb822 paragraphs as dicts (field -> value, continuation lines kept)."""
    for para in text.split("\n\n"):
        fields, key = {}, None
        for line in para.split("\n"):
            if line[:1] in (" ", "\t") and key:
                fields[key] += "\n" + line
            elif ":" in line:
                key, _, val = line.partition(":")
                fields[key] = val.strip()
        if fields:
            yield fields


def release_line(lists):
    """"Debian <codename> main (Version 12.x, Date ...)" from the InRelease file."""
    name = find_release(lists)
    text = open(name, encoding="utf-8", errors="replace").read()
    get = lambda k: (re.search(rf"^{k}:\s*(.+)$", text, re.M) or [None, "?"])[1].strip()
    return f"Debian archive {codename()} main, {get('Origin')} {get('Version')} of {get('Date')}"


def find_release(lists):
    """The InRelease file of the release itself: suite named by the codename,
    Origin Debian."""
    pat = re.compile(r"_dists_" + re.escape(codename()) + r"_InRelease$")
    found = []
    for f in sorted(os.listdir(lists)):
        if pat.search(f):
            with open(os.path.join(lists, f), encoding="utf-8", errors="replace") as fh:
                if re.search(r"^Origin:\s*Debian\s*$", fh.read(), re.M):
                    found.append(f)
    if len(found) != 1:
        raise SystemExit(f"fetch: expected one Debian *_dists_{codename()}_InRelease in {lists}, "
                         f"found {found}")
    return os.path.join(lists, found[0])


def description_text(desc):
    """A Description field (synopsis line, then the extended description with
    " ." paragraph breaks) as plain text."""
    lines = [l.strip() for l in desc.split("\n")]
    return "\n".join(l for l in lines if l != ".")


def packages(lists):
    """(package, section, description md5, synopsis) of the Packages index,
    in file order; the section without its area prefix (contrib/, non-free/)."""
    arch = common.run(["dpkg", "--print-architecture"]).strip()
    out = []
    for st in stanzas(read_list(find_list(lists, f"binary-{arch}_Packages"))):
        if "Package" not in st or "Section" not in st:
            continue
        out.append((st["Package"], st["Section"].split("/")[-1], st.get("Description-md5", ""),
                    st.get("Description", "")))
    return out


def translations(lists, lang):
    """{description md5: description text} of Translation-<lang>."""
    out = {}
    for st in stanzas(read_list(find_list(lists, f"i18n_Translation-{lang}"))):
        md5, desc = st.get("Description-md5"), st.get(f"Description-{lang}")
        if md5 and desc:
            out[md5] = description_text(desc)
    return out


def section_task(out_dir, name, lang):
    """Writes the task `name`: the description (synopsis and extended
    description) of each binary package in language `lang` -> its section.
    Packages without a description in that language are left out."""
    lists = fetch_lists(sorted({"en", lang}))
    trans = translations(lists, lang)
    rows, missing = [], 0
    for pkg, section, md5, synopsis in packages(lists):
        if md5 in trans:
            rows.append((section, trans[md5]))
        else:
            missing += 1
    notes = ["text: synopsis + extended description from Translation-" + lang +
             " (\" .\" paragraph marks removed); label: the Section field without its area prefix",
             "no class cap: no section is large enough to need one"]
    if missing:
        notes.append(f"{missing} packages without a Translation-{lang} description left out")
    license = ("each package's own (descriptions written by its maintainers; "
               "translations by the Debian Description Translation Project, DDTP)")
    return common.write_task(
        out_dir, name, rows, language=lang,
        source=f"Debian archive index ({codename()} main Packages + Translation-{lang}: "
               "package description -> section)",
        license=license, sources=[release_line(lists)], notes=notes)
