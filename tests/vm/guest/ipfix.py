# SPDX-License-Identifier: GPL-2.0-only
"""A small IPFIX decoder for the VM tests, written from RFC 7011 and
independent of the module's encoder: templates (set 2), options templates
(set 3) and data sets decoded with the templates seen."""
import struct


class IpfixDecoder:
    def __init__(self):
        self.templates = {}
        # Template ids that are options templates.
        self.option_ids = set()
        # Options records seen so far, as {element id: bytes}.
        self.options = []

    def _templates(self, body, options):
        b = 0
        while b + 4 <= len(body):
            tid, count = struct.unpack("!HH", body[b:b + 4])
            b += 4
            if options:
                (scope,) = struct.unpack("!H", body[b:b + 2])
                assert 1 <= scope <= count, (scope, count)
                b += 2
            fields = []
            for _ in range(count):
                ie, flen = struct.unpack("!HH", body[b:b + 4])
                assert not ie & 0x8000, "no enterprise elements expected"
                fields.append((ie, flen))
                b += 4
            self.templates[tid] = fields
            if options:
                self.option_ids.add(tid)
            else:
                self.option_ids.discard(tid)

    def decode(self, msg):
        """Returns (header dict, list of flow records as {element id: bytes});
        options records go to self.options. The header's data_records
        counts both (the IPFIX sequence number counts both)."""
        version, length, export_time, sequence, domain = struct.unpack("!HHIII", msg[:16])
        assert version == 10, version
        assert length == len(msg), (length, len(msg))
        records = []
        options_before = len(self.options)
        at = 16
        while at < length:
            set_id, set_len = struct.unpack("!HH", msg[at:at + 4])
            assert set_len >= 4, set_len
            body = msg[at + 4:at + set_len]
            if set_id in (2, 3):
                self._templates(body, set_id == 3)
            elif set_id >= 256:
                fields = self.templates[set_id]
                rec_len = sum(f[1] for f in fields)
                b = 0
                while b + rec_len <= len(body):
                    rec = {}
                    for ie, flen in fields:
                        rec[ie] = body[b:b + flen]
                        b += flen
                    (self.options if set_id in self.option_ids else records).append(rec)
            at += set_len
        data_records = len(records) + len(self.options) - options_before
        return dict(sequence=sequence, domain=domain, export_time=export_time, data_records=data_records), records
