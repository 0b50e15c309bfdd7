"""The serial transport (pyserial) on a pseudo-terminal, with a fake device behind it.

No board here: the device is ``plasticore.cosim.protocol_model.ProtocolModel`` answering on the other
end of a pty pair (its memory mirror makes it a working, if tickless, device). This checks
the pyserial path of the driver end to end: identity, register and memory round trips,
chunking, and resynchronization after line noise.
"""

import os
import sys
import threading
import tty

import numpy as np
import pytest

from plasticore.contract.frame_codec import encode_reply
from plasticore.contract.protocol_spec import Reg
from plasticore.contract.system_map import SystemMap
from plasticore.cosim.protocol_model import ProtocolModel
from plasticore.golden import preset
from plasticore.host import Host

pytestmark = pytest.mark.skipif(sys.platform == "win32", reason="needs a pty")


class FakeDevice(threading.Thread):
    def __init__(self, smap, fd):
        super().__init__(daemon=True)
        self.fd = fd
        self.model = ProtocolModel(smap, {Reg.SCRATCH: 0, Reg.FRAME_TIMEOUT: 1024, Reg.WATCHDOG: 1 << 20})
        self.noise = b""

    def run(self):
        while True:
            try:
                data = os.read(self.fd, 4096)
            except OSError:
                return
            if not data:
                return
            for e in self.model.feed(data):
                payload = e.payload if e.payload is not None else bytes(e.length)
                # take the noise before replying: once the reply is out the host may set new
                # noise for its next request, which clearing it afterwards would lose (a race)
                noise, self.noise = self.noise, b""
                os.write(self.fd, noise + encode_reply(e.cmd, e.tag, e.status, payload))


@pytest.fixture
def device():
    cfg = preset("small")
    master, slave = os.openpty()
    tty.setraw(slave)
    dev = FakeDevice(SystemMap(cfg), master)
    dev.start()
    yield cfg, os.ttyname(slave), dev
    os.close(slave)
    os.close(master)


def test_serial_transport_round_trips(device):
    cfg, port, dev = device
    with Host.serial(cfg, port, baud=115200, timeout=1.0, frame_timeout=0.01) as chip:
        chip.write_register(Reg.SCRATCH, 0xA5A55A5A)
        assert chip.read_register(Reg.SCRATCH) == 0xA5A55A5A
        words = np.random.default_rng(0).integers(0, 1 << 32, chip.map.regions["w_rec"].depth).tolist()
        chip.write_words("w_rec", words)  # several frames
        assert chip.read_words("w_rec") == words
        dev.noise = b"\x13\x37"  # garbage before the next reply
        assert chip.read_words("w_rec", 5, 3) == words[5:8]
        assert chip.link.stats["retries"] == 1
