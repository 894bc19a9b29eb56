"""A small IPFIX decoder for the VM tests, written from RFC 7011 and
independent of the module's encoder: templates (set 2), options templates
(set 3, skipped) and data sets decoded with the templates seen."""
import struct


class IpfixDecoder:
    def __init__(self):
        self.templates = {}

    def decode(self, msg):
        """Returns (header dict, list of records as {element id: bytes})."""
        version, length, export_time, sequence, domain = struct.unpack("!HHIII", msg[:16])
        assert version == 10, version
        assert length == len(msg), (length, len(msg))
        records = []
        at = 16
        while at < length:
            set_id, set_len = struct.unpack("!HH", msg[at:at + 4])
            assert set_len >= 4, set_len
            body = msg[at + 4:at + set_len]
            if set_id == 2:
                b = 0
                while b + 4 <= len(body):
                    tid, count = struct.unpack("!HH", body[b:b + 4])
                    b += 4
                    fields = []
                    for _ in range(count):
                        ie, flen = struct.unpack("!HH", body[b:b + 4])
                        fields.append((ie, flen))
                        b += 4
                    self.templates[tid] = fields
            elif set_id >= 256:
                fields = self.templates[set_id]
                rec_len = sum(f[1] for f in fields)
                b = 0
                while b + rec_len <= len(body):
                    rec = {}
                    for ie, flen in fields:
                        rec[ie] = body[b:b + flen]
                        b += flen
                    records.append(rec)
            at += set_len
        return dict(sequence=sequence, domain=domain, export_time=export_time), records
