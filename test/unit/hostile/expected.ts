// The exact answer of `boxfest validate --json` to each case of corpus.ts: its issues as
// `line:column path: message (hint)`, `CODE: message` for an error that is not about the
// Boxfile's content, or `valid`. Reviewed one by one; a change here is a change users see.

export const EXPECTED: Record<string, string[]> = {
  'unclosed double quote': ['6:1 : missing closing "quote (a quote or bracket is not closed)'],
  'unclosed single quote': ["6:1 : missing closing 'quote (a quote or bracket is not closed)"],
  'unclosed flow mapping': [
    '3:1 : flow map in block collection must be sufficiently indented and end with a }',
  ],
  'unclosed flow sequence': [
    '6:1 : flow sequence in block collection must be sufficiently indented and end with a ]',
  ],
  'tab indentation': [
    '3:1 : tab used for indentation (indent with spaces; YAML does not allow tabs for indentation)',
  ],
  'a value that is a mapping on one line': [
    '2:11 machines.web: nested mappings are not allowed in compact mappings',
    '2:16 machines.web.box: nested mappings are not allowed in compact mappings',
  ],
  'duplicate top-level key': [
    '2:1 version: duplicate key `version` (each key may appear only once in a mapping; remove or merge the duplicates)',
  ],
  'duplicate machine': [
    '4:3 machines.web: duplicate key `web` (each key may appear only once in a mapping; remove or merge the duplicates)',
  ],
  'duplicate key in a flow mapping': [
    '5:21 machines.web.ssh.user: duplicate key `user` (each key may appear only once in a mapping; remove or merge the duplicates)',
  ],
  'two documents': [
    '3:1 : source contains multiple documents; please use YAML.parseAllDocuments() (a Boxfile is a single YAML document; remove the `---` separator)',
  ],
  'an invalid escape in double quotes': ['5:17 machines.web.hostname: invalid escape sequence \\q'],
  'text after the document end marker': [
    '3:1 : source contains multiple documents; please use YAML.parseAllDocuments() (a Boxfile is a single YAML document; remove the `---` separator)',
  ],
  'a bare word': [
    '1:1 : "just some text" is not a mapping (a Boxfile is a mapping with `version: 1` and `machines:`)',
  ],
  'an empty file': [
    '1:1 : the Boxfile is empty (start with `version: 1` and a `machines:` mapping (see examples/quickstart))',
  ],
  'only whitespace': [
    '1:1 : the Boxfile is empty (start with `version: 1` and a `machines:` mapping (see examples/quickstart))',
  ],
  'only comments': [
    '1:1 : the Boxfile is empty (start with `version: 1` and a `machines:` mapping (see examples/quickstart))',
  ],
  'a null document': [
    '1:1 : the Boxfile is empty (start with `version: 1` and a `machines:` mapping (see examples/quickstart))',
  ],
  'a list at the top': [
    '1:1 : a list is not a mapping (a Boxfile is a mapping with `version: 1` and `machines:`)',
  ],
  'JSON syntax is YAML': ['valid'],
  'CRLF line endings': ['valid'],
  'a byte order mark': ['valid'],
  'a NUL byte': [
    '3:15 machines.web.box: "ti\\u0000ny" is not a valid box name (use letters, digits, dot, dash and underscore, starting with a letter or digit, at most 64; optionally `org/name` as on Vagrant Cloud)',
  ],
  'bytes that are not UTF-8': [
    '3:15 machines.web.box: "t��y" is not a valid box name (use letters, digits, dot, dash and underscore, starting with a letter or digit, at most 64; optionally `org/name` as on Vagrant Cloud)',
  ],
  'an unknown tag': ['5:15 machines.web: unresolved tag: tag:yaml.org,2002:python/object:os.system'],
  'a binary value for a string': ['5:24 machines.web.hostname: a mapping is not a string'],
  'a complex key': [
    '3:3 machines."[ web, db ]": machine name "[ web, db ]" is not a valid DNS label (use lowercase letters, digits and hyphens (at most 63, not starting or ending with a hyphen); the name is also the default hostname)',
  ],
  'a YAML 1.1 directive': ['valid'],
  'an unknown directive': ['1:1 : unknown directive %FOO'],
  'a comment line of 200 000 characters': ['valid'],
  'an alias without an anchor': [
    '3:8 machines.web: unknown alias `*base` (define the anchor `&base` before using it)',
  ],
  'a mapping that contains its own alias': [
    '2:21 machines.web: alias `*m` is inside the node its anchor `&m` names, so the document would never end (an alias can only repeat a node that is complete before it; move the anchor or copy the values)',
  ],
  'a list that contains its own alias': [
    '2:16 x-loop[1]: alias `*a` is inside the node its anchor `&a` names, so the document would never end (an alias can only repeat a node that is complete before it; move the anchor or copy the values)',
  ],
  'a mapping that merges itself': [
    '2:20 defaults."<<": alias `*d` is inside the node its anchor `&d` names, so the document would never end (an alias can only repeat a node that is complete before it; move the anchor or copy the values)',
  ],
  'an alias bomb': ['1:1 : excessive alias count indicates a resource exhaustion attack'],
  'merging a scalar': ['1:1 : merge sources must be maps or map aliases'],
  'merging a list of mappings': ['valid'],
  'an anchor kept under an x- key': ['valid'],
  'one machine reused for another': ['valid'],
  'an alias before its anchor': [
    '3:6 machines.a: unknown alias `*later` (define the anchor `&later` before using it)',
  ],
  'a Boxfile over 1 MiB': [
    '1:1 : the Boxfile is larger than 1 MiB, the most boxfest reads (a Boxfile describes machines; keep large data in files that provisioners upload)',
  ],
  'flow collections 250 deep': [
    '2:209 : collections nested more than 200 levels deep (a Boxfile needs a few levels of nesting; this looks like generated or damaged input)',
  ],
  'flow collections 400 000 deep': [
    '1:204 : collections nested more than 200 levels deep (a Boxfile needs a few levels of nesting; this looks like generated or damaged input)',
  ],
  'flow collections 150 deep, under the limit': ['valid'],
  '2000 machines': ['valid'],
  'a machine name of 100 000 characters': [
    '3:3 machines."wwwwwwwwwwwwwwwwwwwwwwwwwwwwwwwwwwwwwwwwwwwwwwwwwwwwwwwwwww…": the : indicator must be at most 1024 chars after the start of an implicit block mapping key',
  ],
  'a hostname of 100 000 characters': [
    '5:15 machines.web.hostname: "hhhhhhhhhhhhhhhhhhhhhhhhhhhhhhhhhhhhhhhhhhhhhhhhhhhhhhhhhhh…" is longer than 253 characters',
    '5:15 machines.web.hostname: "hhhhhhhhhhhhhhhhhhhhhhhhhhhhhhhhhhhhhhhhhhhhhhhhhhhhhhhhhhh…" is not a valid hostname (use letters, digits and hyphens, with dots between labels, e.g. `web-1.local`)',
  ],
  'an accented machine name': [
    '3:3 machines."wéb": machine name "wéb" is not a valid DNS label (use lowercase letters, digits and hyphens (at most 63, not starting or ending with a hyphen); the name is also the default hostname)',
  ],
  'a Cyrillic homoglyph in a machine name': [
    '3:3 machines."wеb": machine name "wеb" is not a valid DNS label (use lowercase letters, digits and hyphens (at most 63, not starting or ending with a hyphen); the name is also the default hostname)',
  ],
  'a right-to-left override in a machine name': [
    '3:3 machines."ab\\u202ecd": machine name "ab\\u202ecd" is not a valid DNS label (use lowercase letters, digits and hyphens (at most 63, not starting or ending with a hyphen); the name is also the default hostname)',
  ],
  'a zero-width space in a box name': [
    '4:10 machines.web.box: "ti\\u200bny" is not a valid box name (use letters, digits, dot, dash and underscore, starting with a letter or digit, at most 64; optionally `org/name` as on Vagrant Cloud)',
  ],
  'an emoji box name': [
    '4:10 machines.web.box: "📦" is not a valid box name (use letters, digits, dot, dash and underscore, starting with a letter or digit, at most 64; optionally `org/name` as on Vagrant Cloud)',
  ],
  'a hostname with an umlaut': [
    '5:15 machines.web.hostname: "münchen" is not a valid hostname (use letters, digits and hyphens, with dots between labels, e.g. `web-1.local`)',
  ],
  'a full-width digit for cpus': ['5:11 machines.web.cpus: "２" is not an integer'],
  'a full-width letter in a key': [
    '1:1 "ｖersion": unknown key `ｖersion` (did you mean `version`?)',
    '1:1 version: missing required key `version` (add `version: 1` at the top of the file)',
  ],
  'an accented network name': [
    '3:3 networks."réseau": network name "réseau" is not a valid DNS label (use lowercase letters, digits and hyphens (at most 63, not starting or ending with a hyphen))',
  ],
  'unicode in an env value': ['valid'],
  'box ../../x': [
    '4:10 machines.web.box: "../../x" is not a valid box name (use letters, digits, dot, dash and underscore, starting with a letter or digit, at most 64; optionally `org/name` as on Vagrant Cloud)',
  ],
  'box ..': [
    '4:10 machines.web.box: ".." is not a valid box name (use letters, digits, dot, dash and underscore, starting with a letter or digit, at most 64; optionally `org/name` as on Vagrant Cloud)',
  ],
  'box /etc/passwd': [
    '4:10 machines.web.box: "/etc/passwd" is not a valid box name (use letters, digits, dot, dash and underscore, starting with a letter or digit, at most 64; optionally `org/name` as on Vagrant Cloud)',
  ],
  'box in defaults as org/name (a Vagrant Cloud name, valid)': ['valid'],
  'box with three segments': [
    '2:18 defaults.box: "a/b/c" is not a valid box name (use letters, digits, dot, dash and underscore, starting with a letter or digit, at most 64; optionally `org/name` as on Vagrant Cloud)',
  ],
  'box_version ../1': [
    '5:18 machines.web.box_version: `../1` is not a version requirement (write e.g. `>= 1.2, < 2`, `~> 1.2` or `1.2.3`)',
  ],
  'network ../x': [
    '3:3 networks."../x": network name "../x" is not a valid DNS label (use lowercase letters, digits and hyphens (at most 63, not starting or ending with a hyphen))',
  ],
  'network ..': [
    '3:3 networks."..": network name ".." is not a valid DNS label (use lowercase letters, digits and hyphens (at most 63, not starting or ending with a hyphen))',
  ],
  'machine ../x': [
    '3:3 machines."../x": machine name "../x" is not a valid DNS label (use lowercase letters, digits and hyphens (at most 63, not starting or ending with a hyphen); the name is also the default hostname)',
  ],
  'synced folder into /': [
    "5:38 machines.web.synced_folders[0].dest: is the guest's root directory (sync into a directory of its own, e.g. `/srv/app`; with `delete` rsync would remove everything else there)",
  ],
  'synced folder into //': [
    "5:38 machines.web.synced_folders[0].dest: is the guest's root directory (sync into a directory of its own, e.g. `/srv/app`; with `delete` rsync would remove everything else there)",
  ],
  'synced folder into /srv/../..': [
    '5:38 machines.web.synced_folders[0].dest: `/srv/../..` has a `..` segment (write the path it means: `/`)',
  ],
  'synced folder into /srv/./': ['valid'],
  'file provisioner to /tmp/../etc/passwd': [
    '5:39 machines.web.provision[0].dest: `/tmp/../etc/passwd` has a `..` segment (write the path it means: `/etc/passwd`)',
  ],
  'shell_path that is a directory': [
    '5:31 machines.web.provision[0].shell_path: `./scripts` is a directory; `shell_path` is a script file (name the script itself, e.g. `scripts/setup.sh`)',
  ],
  'a synced folder src that is a file': [
    '5:29 machines.web.synced_folders[0].src: `./notes.txt` is a file; a synced folder is a directory (sync the directory that holds it, or upload the file with a `file` provisioner)',
  ],
  'a private key that is a directory': [
    "5:25 machines.web.ssh.private_key: `./keys` is a directory, not a key file (point it at an existing private key, or remove it to use the box's key)",
  ],
  'a synced folder from outside the project (allowed: the Boxfile is trusted)': ['valid'],
  'a bridge name carrying a QEMU option': [
    '3:36 networks.lan.interface: "br0,helper=/tmp/x" is not a Linux interface name (use the bridge\'s name as `ip -br link show type bridge` prints it: at most 15 letters, digits, `_`, `.` or `-`)',
  ],
  'a bridge name with a space': [
    '3:36 networks.lan.interface: "br0 -x" is not a Linux interface name (use the bridge\'s name as `ip -br link show type bridge` prints it: at most 15 letters, digits, `_`, `.` or `-`)',
  ],
  'a bridge name with a newline': [
    '3:36 networks.lan.interface: "br0\\nallow all" is not a Linux interface name (use the bridge\'s name as `ip -br link show type bridge` prints it: at most 15 letters, digits, `_`, `.` or `-`)',
  ],
  'a bridge name of 16 characters': [
    '3:36 networks.lan.interface: "br0123456789abcd" is not a Linux interface name (use the bridge\'s name as `ip -br link show type bridge` prints it: at most 15 letters, digits, `_`, `.` or `-`)',
  ],
  'an SSH user with a newline and a ProxyCommand': [
    '5:18 machines.web.ssh.user: "root\\nProxyCommand sh -c evil" is not a valid user name (use letters, digits, `_`, `.` and `-`, starting with a letter or `_` (at most 32))',
  ],
  'an SSH user with a space': [
    '5:18 machines.web.ssh.user: "a b" is not a valid user name (use letters, digits, `_`, `.` and `-`, starting with a letter or `_` (at most 32))',
  ],
  'an SSH user that is an option': [
    '5:18 machines.web.ssh.user: "-oProxyCommand=evil" is not a valid user name (use letters, digits, `_`, `.` and `-`, starting with a letter or `_` (at most 32))',
  ],
  'an SSH user in defaults': [
    '2:37 defaults.ssh.user: "x;y" is not a valid user name (use letters, digits, `_`, `.` and `-`, starting with a letter or `_` (at most 32))',
  ],
  'a hostname with a command': [
    '5:15 machines.web.hostname: "web;rm -rf /" is not a valid hostname (use letters, digits and hyphens, with dots between labels, e.g. `web-1.local`)',
  ],
  'a chown with a command': [
    '5:51 machines.web.synced_folders[0].chown: "root;reboot" is not a valid owner (write `user` or `user:group`, e.g. `www-data:www-data`)',
  ],
  'the broadcast MAC': [
    '3:75 machines.web.networks[0].mac: MAC address `ff:ff:ff:ff:ff:ff` is the broadcast address (use a unicast, locally administered address, e.g. `52:54:00:12:34:56`)',
  ],
  'a multicast MAC': [
    '3:75 machines.web.networks[0].mac: MAC address `01:00:5e:00:00:01` is a multicast address (its first byte is odd) (use a unicast, locally administered address, e.g. `52:54:00:12:34:56`)',
  ],
  'the all-zero MAC': [
    '3:75 machines.web.networks[0].mac: MAC address `00:00:00:00:00:00` is all zeros, which no NIC may use (use a unicast, locally administered address, e.g. `52:54:00:12:34:56`)',
  ],
  'an env name with a semicolon': [
    '5:38 machines.web.provision[0].env."A;B": `A;B` is not a valid environment variable name (use letters, digits and `_`, not starting with a digit)',
  ],
  'an env name starting with a digit': [
    '5:38 machines.web.provision[0].env.1ABC: `1ABC` is not a valid environment variable name (use letters, digits and `_`, not starting with a digit)',
  ],
  'credentials in the VirtualBox URL': [
    '3:20 virtualbox.url: "http://***@vbox:18083/" is not a valid URL (write `http://HOST:PORT/` or `https://...`; user and password come from BOXFEST_VBOX_USER and BOXFEST_VBOX_PASSWORD, never from the Boxfile)',
  ],
  'a javascript: VirtualBox URL': [
    '3:20 virtualbox.url: "javascript:alert(1)" is not a valid URL (write `http://HOST:PORT/` or `https://...`; user and password come from BOXFEST_VBOX_USER and BOXFEST_VBOX_PASSWORD, never from the Boxfile)',
  ],
  'a synced folder dest with a newline': [
    '5:38 machines.web.synced_folders[0].dest: "/srv/a\\nb" has a control character (write the guest path on one line, without escapes)',
  ],
  'a machine named like an option': [
    '3:3 machines.-oProxyCommand: machine name "-oProxyCommand" is not a valid DNS label (use lowercase letters, digits and hyphens (at most 63, not starting or ending with a hyphen); the name is also the default hostname)',
  ],
  'a ${VAR} that brings a newline into the hostname': [
    '5:15 machines.web.hostname: "web\\nProxyCommand evil" (from `"${HN}"`) is not a valid hostname (use letters, digits and hyphens, with dots between labels, e.g. `web-1.local`)',
  ],
  'a secret from the environment in a value of the wrong type is never echoed': [
    '8:16 machines.web.provision[0].env.PIN: `${PIN}` is not a string (quote it: `PIN: "${PIN}"`, or write `{ value: ..., secret: true }`)',
  ],
  'a shell body keeps ${#VAR}, ${VAR%x} and ${HOME} for the shell': ['valid'],
  '${VAR} still applies to every other value, and host values reach scripts through env': ['valid'],
  "qemu extra_args and rsync args are the user's own (trusted, like a Vagrantfile)": ['valid'],
  'cpus: zero': ['5:11 machines.web.cpus: 0 is below 1'],
  'cpus: negative': ['5:11 machines.web.cpus: -1 is below 1'],
  'cpus: too many': ['5:11 machines.web.cpus: 65 is above 64'],
  'cpus: a fraction': ['5:11 machines.web.cpus: 1.5 is not an integer'],
  'cpus: an exponent': ['5:11 machines.web.cpus: 1000 is above 64'],
  'cpus: infinity': ['5:11 machines.web.cpus: Infinity is not an integer'],
  'cpus: minus infinity': ['5:11 machines.web.cpus: -Infinity is not an integer'],
  'cpus: NaN': ['5:11 machines.web.cpus: NaN is not an integer'],
  'cpus: beyond 2^53': ['5:11 machines.web.cpus: 9007199254740992 is above 64'],
  'cpus: a quoted number': ['5:11 machines.web.cpus: "2" is not an integer'],
  'cpus: a boolean': ['5:11 machines.web.cpus: true is not an integer'],
  'cpus: digits with underscores (a string in YAML 1.2)': [
    '5:11 machines.web.cpus: "1_000" is not an integer',
  ],
  'cpus: hexadecimal': ['valid'],
  'cpus: octal': ['valid'],
  'memory below the minimum': [
    '5:13 machines.web.memory: 63 is below 64 (memory is a number of MiB, e.g. `memory: 2048`, or a size such as `2GiB`)',
  ],
  'memory above the maximum': [
    '5:13 machines.web.memory: 1048577 is above 1048576 (memory is a number of MiB, e.g. `memory: 2048`, or a size such as `2GiB`)',
  ],
  'memory of 0GiB': ['5:13 machines.web.memory: `0GiB` is less than the minimum, 64 MiB'],
  'memory of -1GiB': [
    '5:13 machines.web.memory: "-1GiB" is not a size (write a number of MiB, e.g. `memory: 2048`, or a size with a unit, e.g. `2GiB`, `512MiB`)',
  ],
  'memory with an exponent': [
    '5:13 machines.web.memory: "1e3MiB" is not a size (write a number of MiB, e.g. `memory: 2048`, or a size with a unit, e.g. `2GiB`, `512MiB`)',
  ],
  'memory of 2 GiB with a space': ['valid'],
  'memory of 2TiB': ['5:13 machines.web.memory: `2TiB` is more than the maximum, 1048576 MiB'],
  'host port 0': ['5:42 machines.web.forwarded_ports[0].host: 0 is below 1'],
  'host port 65536': ['5:42 machines.web.forwarded_ports[0].host: 65536 is above 65535'],
  'guest port -1': ['5:32 machines.web.forwarded_ports[0].guest: -1 is below 1'],
  'host port 22.5': ['5:42 machines.web.forwarded_ports[0].host: 22.5 is not an integer'],
  'boot_timeout 0': [
    '5:19 machines.web.boot_timeout: 0 is below 1 (boot_timeout is a number of seconds, e.g. `boot_timeout: 300`)',
  ],
  'version 1.0': ['valid'],
  'version "1"': ['1:10 version: "1" is not 1 (this version of boxfest reads Boxfile version 1)'],
  'one fixed host port on two machines': [
    '3:56 machines.a.forwarded_ports[0].host: host port tcp 127.0.0.1:8080 is already forwarded for `b` (pick another `host` port, or set `auto_correct: true` to take a free one at `up`)',
    '4:56 machines.b.forwarded_ports[0].host: host port tcp 127.0.0.1:8080 is already forwarded for `a` (pick another `host` port, or set `auto_correct: true` to take a free one at `up`)',
  ],
  'an address octet of 256': [
    '3:60 machines.web.networks[0].ip: "10.9.0.256" is not a valid IPv4 address (write four numbers from 0 to 255, e.g. `192.168.56.10`)',
  ],
  'Boxfile.yaml is a directory': ['BOXFILE_NOT_A_FILE: {project}/Boxfile.yaml is a directory'],
  'Boxfile.yaml is a dangling symlink': [
    'BOXFILE_NOT_A_FILE: {project}/Boxfile.yaml is a symbolic link to nothing (its target does not exist)',
  ],
  'Boxfile.yaml is a symlink loop': [
    'BOXFILE_NOT_A_FILE: {project}/Boxfile.yaml is a symbolic link that loops',
  ],
  'Boxfile.yaml is a FIFO': ['BOXFILE_NOT_A_FILE: {project}/Boxfile.yaml is a FIFO (named pipe)'],
  'Boxfile.yaml is a device': ['BOXFILE_NOT_A_FILE: {project}/Boxfile.yaml is a device'],
  'machines.web.box: 1': ['5:10 machines.web.box: 1 is not a string'],
  'machines.web.box_version: []': ['5:18 machines.web.box_version: a list is not a string'],
  'machines.web.profile: {}': ['5:14 machines.web.profile: a mapping is not a string'],
  'machines.web.cpus: "x"': ['5:11 machines.web.cpus: "x" is not an integer'],
  'machines.web.memory: []': [
    '5:13 machines.web.memory: a list is not an integer or a string (memory is a number of MiB, e.g. `memory: 2048`, or a size such as `2GiB`)',
  ],
  'machines.web.disk_size: {}': [
    '5:16 machines.web.disk_size: a mapping is not an integer or a string (disk_size is a number of MiB, e.g. `disk_size: 20480`, or a size such as `20GiB`)',
  ],
  'machines.web.hostname: 5': ['5:15 machines.web.hostname: 5 is not a string'],
  'machines.web.networks: {}': ['5:15 machines.web.networks: a mapping is not a list'],
  'machines.web.forwarded_ports: x': ['5:22 machines.web.forwarded_ports: "x" is not a list'],
  'machines.web.synced_folders: 1': ['5:21 machines.web.synced_folders: 1 is not a list'],
  'machines.web.provision: {}': ['5:16 machines.web.provision: a mapping is not a list'],
  'machines.web.ssh: []': ['5:10 machines.web.ssh: a list is not a mapping'],
  'machines.web.boot_timeout: x': [
    '5:19 machines.web.boot_timeout: "x" is not an integer (boot_timeout is a number of seconds, e.g. `boot_timeout: 300`)',
  ],
  'machines.web.autostart: yes': ['5:16 machines.web.autostart: "yes" is not true or false'],
  'machines.web.primary: 1': ['5:14 machines.web.primary: 1 is not true or false'],
  'machines.web.instant: no': ['5:14 machines.web.instant: "no" is not true or false'],
  'machines.web.qemu: []': ['5:11 machines.web.qemu: a list is not a mapping'],
  'machines.web.virtualbox: x': ['5:17 machines.web.virtualbox: "x" is not a mapping'],
  'machines.web.ssh.user: 1': ['5:18 machines.web.ssh.user: 1 is not a string'],
  'machines.web.ssh.port: x': ['5:18 machines.web.ssh.port: "x" is not an integer'],
  'machines.web.ssh.private_key: 1': ['5:25 machines.web.ssh.private_key: 1 is not a string'],
  'machines.web.qemu.accel: 1': ['5:20 machines.web.qemu.accel: 1 is not one of auto, kvm, tcg'],
  'machines.web.qemu.restrict_network: x': [
    '5:31 machines.web.qemu.restrict_network: "x" is not true or false',
  ],
  'machines.web.qemu.disk_interface: 1': [
    '5:29 machines.web.qemu.disk_interface: 1 is not one of virtio, nvme',
  ],
  'machines.web.qemu.extra_args: x': ['5:25 machines.web.qemu.extra_args: "x" is not a list'],
  'machines.web.virtualbox.url: 1': ['5:24 machines.web.virtualbox.url: 1 is not a string'],
  'machines.web.virtualbox.gui: x': ['5:24 machines.web.virtualbox.gui: "x" is not true or false'],
  'machines.web.virtualbox.linked_clone: x': [
    '5:33 machines.web.virtualbox.linked_clone: "x" is not true or false',
  ],
  'machines.web.virtualbox.os_type: 1': ['5:28 machines.web.virtualbox.os_type: 1 is not a string'],
  'machines.web.forwarded_ports[0].host_ip: 1': [
    '6:57 machines.web.forwarded_ports[0].host_ip: 1 is not a string',
  ],
  'machines.web.forwarded_ports[0].protocol: 1': [
    '6:58 machines.web.forwarded_ports[0].protocol: 1 is not one of tcp, udp',
  ],
  'machines.web.forwarded_ports[0].auto_correct: x': [
    '6:62 machines.web.forwarded_ports[0].auto_correct: "x" is not true or false',
  ],
  'machines.web.forwarded_ports[0].guest: x': [
    '6:44 machines.web.forwarded_ports[0].guest: "x" is not an integer',
  ],
  'machines.web.synced_folders[0].exclude: x': [
    '6:53 machines.web.synced_folders[0].exclude: "x" is not a list',
  ],
  'machines.web.synced_folders[0].delete: x': [
    '6:52 machines.web.synced_folders[0].delete: "x" is not true or false',
  ],
  'machines.web.synced_folders[0].chown: 1': ['6:51 machines.web.synced_folders[0].chown: 1 is not a string'],
  'machines.web.synced_folders[0].args: x': ['6:50 machines.web.synced_folders[0].args: "x" is not a list'],
  'machines.web.synced_folders[0].auto: 1': [
    '6:50 machines.web.synced_folders[0].auto: 1 is not true or false',
  ],
  'machines.web.synced_folders[0].disabled: 1': [
    '6:54 machines.web.synced_folders[0].disabled: 1 is not true or false',
  ],
  'machines.web.synced_folders[0].src: 1': ['6:41 machines.web.synced_folders[0].src: 1 is not a string'],
  'machines.web.provision[0].name: 1': ['6:37 machines.web.provision[0].name: 1 is not a string'],
  'machines.web.provision[0].run: 1': [
    '6:36 machines.web.provision[0].run: 1 is not one of once, always, never',
  ],
  'machines.web.provision[0].args: x': ['6:37 machines.web.provision[0].args: "x" is not a list'],
  'machines.web.provision[0].env: []': ['6:36 machines.web.provision[0].env: a list is not a mapping'],
  'machines.web.provision[0].privileged: x': [
    '6:43 machines.web.provision[0].privileged: "x" is not true or false',
  ],
  'machines.web.provision[0].file: 1': ['6:35 machines.web.provision[0].file: 1 is not a string'],
  'machines.web.provision[0].shell: 1': ['6:35 machines.web.provision[0].shell: 1 is not a string'],
  'machines.web.provision[0].shell_path: []': [
    '6:40 machines.web.provision[0].shell_path: a list is not a string',
  ],
  'machines.web.networks[0].ip: 1': ['6:34 machines.web.networks[0].ip: 1 is not a string'],
  'machines.web.networks[0].dhcp: x': ['6:36 machines.web.networks[0].dhcp: "x" is not true or false'],
  'machines.web.networks[0].mac: 1': ['6:35 machines.web.networks[0].mac: 1 is not a string'],
  'machines.web.networks[0].network: 1': ['6:41 machines.web.networks[0].network: 1 is not a string'],
  'version: one': ['1:10 version: "one" is not 1 (this version of boxfest reads Boxfile version 1)'],
  'provider: 1': ['2:11 provider: 1 is not one of qemu, virtualbox, libvirt'],
  'virtualbox: []': ['2:13 virtualbox: a list is not a mapping'],
  'defaults: []': ['2:11 defaults: a list is not a mapping'],
  'profiles: []': ['2:11 profiles: a list is not a mapping'],
  'networks: []': ['2:11 networks: a list is not a mapping'],
  'machines: []': ['2:11 machines: a list is not a mapping'],
  'networks.n.dhcp: x': ['2:58 networks.n.dhcp: "x" is not true or false'],
  'networks.n.cidr: 1': ['2:39 networks.n.cidr: 1 is not a string'],
  'networks.n.interface: []': ['2:44 networks.n.interface: a list is not a string'],
  'networks.n.type: 1': ['2:43 networks.n.type: 1 is not one of private, bridged'],
  'an env value mapping with a wrong value': [
    '5:50 machines.web.provision[0].env.A.value: 1 is not a string',
  ],
  'an env value mapping with a wrong secret flag': [
    '5:61 machines.web.provision[0].env.A.secret: "x" is not true or false',
  ],
};
