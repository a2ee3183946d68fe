"""Table tests for every wire codec, including the worked examples of the protocol notes."""

from __future__ import annotations

from binascii import crc_hqx

import numpy as np
import pytest

from drivers.gate import lcus
from drivers.scanner import gm65
from drivers.thermometer import asciiline, mcu90614, mcu90640

H = bytes.fromhex


# -- GY-MCU90614 -------------------------------------------------------------------------------
def test_90614_worked_example_from_the_notes():
    [frame] = mcu90614.Mcu90614Decoder().feed(H("5A5A45040C780D19A7"))
    assert (frame.object_c, frame.ambient_c) == (31.92, 33.53)


@pytest.mark.parametrize(("cmd", "wire"), [
    (mcu90614.CMD_CONTINUOUS, "A545EA"), (mcu90614.CMD_QUERY, "A515BA"), (mcu90614.CMD_AUTOSTART_ON, "A551F6"),
    (mcu90614.CMD_AUTOSTART_OFF, "A552F7"), (mcu90614.CMD_BAUD_9600, "A5AE53"), (mcu90614.CMD_BAUD_115200, "A5AF54"),
])
def test_90614_commands_match_the_notes(cmd, wire):
    assert mcu90614.encode_command(cmd) == H(wire)
    assert mcu90614.Mcu90614CommandDecoder().feed(H(wire)) == [cmd]


@pytest.mark.parametrize(("obj", "amb"), [(36.52, 20.0), (-12.34, -40.0), (0.0, 0.01), (327.67, -327.68)])
def test_90614_round_trip_including_negative_values(obj, amb):
    [frame] = mcu90614.Mcu90614Decoder().feed(mcu90614.encode_reading(obj, amb))
    assert (frame.object_c, frame.ambient_c) == (obj, amb)


def test_90614_bad_checksum_is_rejected_and_counted():
    dec = mcu90614.Mcu90614Decoder()
    assert dec.feed(H("5A5A45040C780D19A8")) == []
    assert dec.stats.bad_checksum == 1


def test_90614_frame_split_byte_by_byte():
    dec = mcu90614.Mcu90614Decoder()
    out = [m for b in H("5A5A45040C780D19A7") for m in dec.feed(bytes([b]))]
    assert [f.object_c for f in out] == [31.92]


def test_90614_resynchronises_after_junk_and_a_false_header():
    good = H("5A5A45040C780D19A7")
    dec = mcu90614.Mcu90614Decoder()
    out = dec.feed(H("00FF5A5A5A") + good + H("5A5A4504") + good)
    assert [f.raw for f in out] == [good, good]
    assert dec.stats.junk_bytes > 0


# -- GY-MCU90640 -------------------------------------------------------------------------------
@pytest.mark.parametrize(("cmd", "value", "wire"), [
    (mcu90640.CMD_BAUD, 1, "A51501BB"), (mcu90640.CMD_BAUD, 2, "A51502BC"), (mcu90640.CMD_BAUD, 3, "A51503BD"),
    (mcu90640.CMD_RATE, 0, "A52500CA"), (mcu90640.CMD_RATE, 1, "A52501CB"), (mcu90640.CMD_RATE, 4, "A52504CE"),
    (mcu90640.CMD_OUTPUT, 1, "A53501DB"), (mcu90640.CMD_OUTPUT, 2, "A53502DC"), (mcu90640.CMD_SAVE, 1, "A565010B"),
])
def test_90640_commands_match_the_notes(cmd, value, wire):
    assert mcu90640.encode_command(cmd, value) == H(wire)
    assert mcu90640.Mcu90640CommandDecoder().feed(H(wire)) == [(cmd, value)]


def _pixels():
    img = np.full((24, 32), 21.5)
    img[10:13, 14:17] = 36.8
    img[0, 0] = -5.25
    return img


def test_90640_frame_layout_is_little_endian_with_word_checksum():
    raw = mcu90640.encode_frame(_pixels(), 22.75)
    assert len(raw) == 1544 and raw[:4] == H("5A5A0206")
    assert raw[4:6] == (-525).to_bytes(2, "little", signed=True)  # first pixel, little-endian
    assert raw[1540:1542] == (2275).to_bytes(2, "little")
    words = np.frombuffer(raw[:1542], "<u2").sum() & 0xFFFF
    assert int.from_bytes(raw[1542:], "little") == words
    [frame] = mcu90640.Mcu90640Decoder().feed(raw)
    assert frame.ambient_c == 22.75
    np.testing.assert_allclose(frame.pixels, _pixels(), atol=0.005)
    assert frame.image()[0, -1] == pytest.approx(-5.25)  # mirrored: pixel 1 is top-right


def test_90640_bad_checksum_rejected_then_next_frame_found():
    raw = mcu90640.encode_frame(_pixels(), 22.0)
    bad = raw[:100] + bytes([raw[100] ^ 1]) + raw[101:]
    dec = mcu90640.Mcu90640Decoder()
    out = dec.feed(bad + b"junk" + raw[:700]) + dec.feed(raw[700:])
    assert len(out) == 1 and dec.stats.bad_checksum == 1


@pytest.mark.parametrize(("offset", "expected", "subject"), [(0.0, 36.8, True), (0.5, 36.8, True),
                                                              (-7.0, 21.5, False)])
def test_90640_body_is_mean_of_hottest_pixels_in_body_range(offset, expected, subject):
    img = _pixels()
    img[20, 20] = 60.0  # a hot lamp: outside the body range, ignored
    value, present = mcu90640.body_from_pixels(img, offset, n=4)
    assert present is subject
    assert value == pytest.approx(expected if subject else 60.0)


# -- ASCII line ---------------------------------------------------------------------------------
@pytest.mark.parametrize(("line", "expected"), [
    (b"36.52\r\n", (36.52, None)), (b"36.5,21.0\n", (36.5, 21.0)), (b" 36.50 ; 21.00 \r\n", (36.5, 21.0)),
    (b"-3.1 20.25\n", (-3.1, 20.25)),
])
def test_ascii_lines(line, expected):
    [reading] = asciiline.AsciiLineDecoder().feed(line)
    assert (reading.object_c, reading.ambient_c) == expected


@pytest.mark.parametrize("line", [b"36\n", b"abc\n", b"36.523\n", b"36.5221.0\n", b"1.0,2.0,3.0\n", b"36.5x\n"])
def test_ascii_rejects_anything_else(line):
    dec = asciiline.AsciiLineDecoder()
    assert dec.feed(line) == [] and dec.stats.rejected == 1


def test_ascii_overlong_line_dropped_up_to_next_newline():
    dec = asciiline.AsciiLineDecoder()
    out = dec.feed(b"9" * 100) + dec.feed(b"36.6\n37.0\n")
    assert [r.object_c for r in out] == [37.0]
    assert [r.object_c for r in dec.feed(b"8" * 100 + b"\n36.6\n")] == [36.6]  # all in one read


def test_gm65_overlong_text_dropped_up_to_next_suffix():
    dec = gm65.ScannerDecoder()
    assert [m.text for m in dec.feed(b"X" * 5000 + b"\rOK\r")] == ["OK"]
    assert [m.text for m in dec.feed(b"Y" * 5000) + dec.feed(b"Y\rOK2\r")] == ["OK2"]


# -- LCUS relay -----------------------------------------------------------------------------------
@pytest.mark.parametrize(("channel", "on", "wire"), [(1, True, "A00101A2"), (1, False, "A00100A1"),
                                                     (2, True, "A00201A3"), (8, False, "A00800A8")])
def test_lcus_commands_match_the_notes(channel, on, wire):
    assert lcus.encode_switch(channel, on) == H(wire)
    [cmd] = lcus.LcusCommandDecoder().feed(H(wire))
    assert (cmd.channel, cmd.on) == (channel, on)


def test_lcus_rejects_bad_checksum_and_channel_zero():
    dec = lcus.LcusCommandDecoder()
    assert dec.feed(H("A00101A3") + H("A00001A1")) == []
    assert dec.stats.bad_checksum == 1 and dec.stats.rejected == 1


# -- GM65 scanner -------------------------------------------------------------------------------
def test_gm65_commands_from_the_notes():
    assert gm65.trigger_command() == H("7E0008010002 01ABCD".replace(" ", ""))
    assert gm65.encode_command(gm65.TYPE_SAVE, 0x0000, b"\x00") == H("7E00090100000 0DEC8".replace(" ", ""))
    assert crc_hqx(H("0901000000"), 0) == 0xDEC8
    [cmd] = gm65.ScannerCommandDecoder().feed(H("7E0009010000 00DEC8".replace(" ", "")))
    assert (cmd.type, cmd.address, cmd.data) == (0x09, 0, b"\x00")


def test_gm65_success_reply_from_the_notes():
    assert gm65.encode_reply(True) == H("02000001003331")
    [reply] = gm65.ScannerDecoder().feed(H("02000001003331"))
    assert isinstance(reply, gm65.ScannerReply) and reply.ok


def test_gm65_texts_with_cr_and_crlf_suffixes():
    out = gm65.ScannerDecoder().feed("GP1:ABC\r中文通行证\r\nNEXT\r".encode())
    assert [m.text for m in out] == ["GP1:ABC", "中文通行证", "NEXT"]


def test_gm65_rejects_control_characters_and_bad_utf8():
    dec = gm65.ScannerDecoder()
    assert dec.feed(b"A\x01B\r\xff\xfe\r") == []
    assert dec.stats.rejected == 2


def test_gm65_command_with_bad_crc_is_rejected():
    dec = gm65.ScannerCommandDecoder()
    assert dec.feed(H("7E00090100000 0DEC9".replace(" ", ""))) == []
    assert dec.stats.bad_checksum == 1
