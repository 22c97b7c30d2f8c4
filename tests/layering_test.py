#!/usr/bin/env python3
"""The dependency rules of docs/ARCHITECTURE.md, checked on the code's own includes.

Every quoted #include of a source or header file is resolved to the part that holds the
included file; an include from a part to one its rule does not allow fails the test with the
file, the line and the rule. Tests, fuzz targets and test helpers may include anything.
Known exceptions are listed below, each with the change that removes it; an exception that no
longer occurs fails too, so that the list only shrinks.

  tests/layering_test.py [SOURCE_DIR]
"""
import os
import re
import sys

ROOT = os.path.abspath(sys.argv[1] if len(sys.argv) > 1 else
                       os.path.join(os.path.dirname(__file__), '..'))

# Where a part's files live, most specific first.
PARTS = [
    ('core', 'core/'),
    ('device', 'device/'),
    ('engine', 'engine/'),
    ('protocol', 'protocol/'),
    ('formats', 'formats/'),
    ('security', 'security/'),
    ('client-lib', 'client/lib/'),
    ('client-examples', 'client/examples/'),
    ('cli', 'client/cli/'),
    ('server', 'server/'),
    ('bench', 'bench/'),
]

# What each part may include, besides itself.
ALLOWED = {
    'core': set(),
    'device': set(),
    'engine': {'core'},
    'protocol': {'core'},
    'formats': {'core'},
    'security': {'core', 'engine', 'device'},
    'client-lib': {'core', 'protocol'},
    'client-examples': {'core', 'client-lib'},
    'cli': {'core', 'engine', 'protocol', 'formats', 'security', 'client-lib', 'device'},
    'server': {'core', 'engine', 'protocol', 'formats', 'security', 'device'},
    'bench': {'core', 'engine', 'protocol', 'formats', 'client-lib', 'device'},
}

# (including file, included file or folder/): edges that break a rule today, each with the
# change that removes it. None today; the list may only shrink.
KNOWN = {}

# Third-party headers that, within the engine, one folder alone may include: libsodium behind
# crypto/ (keys, sealing, random bytes, wiping), RocksDB behind store/.
CONFINED = [('sodium.h', 'engine/', 'engine/src/crypto/'),
            ('rocksdb/', 'engine/', 'engine/src/store/')]
SYSTEM_INCLUDE = re.compile(r'^\s*#\s*include\s+<([^>]+)>')

# Include roots, searched in order after the including file's own folder.
ROOTS = ['core/include', 'device/include', 'device/src', 'device/tests', 'engine/include', 'protocol/include', 'protocol', 'formats/include',
         'client/lib/include', 'engine/src', 'security', 'server', 'client', 'client/cli',
         'client/lib/src', 'bench', 'tests', 'fuzz', '.']
GENERATED = {'sensordb/protocol/sensordb_generated.h': 'protocol/include/sensordb/protocol/'}

INCLUDE = re.compile(r'^\s*#\s*include\s+"([^"]+)"')


def part_of(rel):
    for name, prefix in PARTS:
        if rel.startswith(prefix):
            return name
    return None


def is_test(rel):
    base = os.path.basename(rel)
    return (rel.startswith(('tests/', 'fuzz/')) or '_test' in base or 'test_util' in base or
            base in ('server_fixture.h', 'test_client.h', 'admin_test_util.h'))


def resolve(rel, name):
    if name in GENERATED:
        return GENERATED[name] + os.path.basename(name)
    for base in [os.path.dirname(rel)] + ROOTS:
        candidate = os.path.normpath(os.path.join(base, name))
        if os.path.isfile(os.path.join(ROOT, candidate)):
            return candidate
    return None


def main():
    problems = []
    seen_known = set()
    for dirpath, dirnames, filenames in os.walk(ROOT):
        rel_dir = os.path.relpath(dirpath, ROOT)
        if rel_dir == '.':
            dirnames[:] = [d for d in dirnames if not d.startswith(('.', 'build'))]
        for f in filenames:
            if not f.endswith(('.h', '.cc', '.c')):
                continue
            rel = os.path.normpath(os.path.join(rel_dir, f))
            part = part_of(rel)
            if part is None or is_test(rel):
                continue
            with open(os.path.join(ROOT, rel), encoding='utf-8') as src:
                for number, line in enumerate(src, 1):
                    system = SYSTEM_INCLUDE.match(line)
                    if system:
                        for header, within, only in CONFINED:
                            if (system.group(1).startswith(header) and rel.startswith(within) and
                                    not rel.startswith(only)):
                                problems.append(f'{rel}:{number}: <{system.group(1)}>: within '
                                                f'{within} only {only} may include it')
                        continue
                    m = INCLUDE.match(line)
                    if not m:
                        continue
                    target = resolve(rel, m.group(1))
                    if target is None:
                        problems.append(f'{rel}:{number}: "{m.group(1)}" is not a file of the '
                                        'project (add its root to ROOTS)')
                        continue
                    to = part_of(target)
                    if to is None:
                        continue
                    if to == part or to in ALLOWED[part]:
                        continue
                    why = (f'{part} may not include {to}; {part} may include: '
                           f'{", ".join(sorted(ALLOWED[part])) or "nothing"}')
                    known = [k for k in KNOWN if k[0] == rel and target.startswith(k[1])]
                    if known:
                        seen_known.update(known)
                        continue
                    problems.append(f'{rel}:{number}: {target}: {why}')
    for edge in sorted(set(KNOWN) - seen_known):
        problems.append(f'known exception {edge[0]} -> {edge[1]} no longer occurs: remove it '
                        'from KNOWN in tests/layering_test.py')
    for p in problems:
        print(p)
    if problems:
        print(f'{len(problems)} include(s) break docs/ARCHITECTURE.md')
        return 1
    print(f'ok: every include follows docs/ARCHITECTURE.md ({len(KNOWN)} known exceptions)')
    return 0


if __name__ == '__main__':
    sys.exit(main())
