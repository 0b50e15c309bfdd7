"""The message format between ``plasticore.cosim.host_transport`` (host) and ``cosim/tb_system.py`` (bench).

Kept apart from both so that the host side does not import cocotb and the bench does not
import the host side.
"""

import struct

OP_WRITE, OP_READ, OP_ADVANCE, OP_STOP = 1, 2, 3, 4
#: request: op u8, n u32, cycles u64, data length u32, then the data
REQUEST = struct.Struct("<BIQI")
#: answer: cycle limit hit u8, engine idle u8, cycle count u64, data length u32, then the data
ANSWER = struct.Struct("<BBQI")
