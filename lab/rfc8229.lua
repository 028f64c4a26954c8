-- IKE and ESP over TCP (RFC 8229) for tshark 4.0, whose own "tcpencap" dissector reads another
-- (vendor) TCP encapsulation and no RFC 8229 stream. lab/wire.py loads this file into every tshark it
-- runs (-X lua_script:...), so that the lab's oracle reads the IKE messages of a TCP capture with
-- Wireshark's own ISAKMP dissector: this file only splits the stream, as RFC 8229 section 3 frames it.
--
-- On TCP port 4500: the initiator's stream opens with the 6 octets "IKETCP"; then each record is a
-- 2-octet length (counting itself), and either a non-ESP marker (4 zero octets) and an IKE message,
-- or an ESP packet (a non-zero SPI). Records may span TCP segments; tshark's TCP reassembly joins them.

local rfc8229 = Proto("rfc8229", "IKE/ESP in TCP (RFC 8229)")
local f_prefix = ProtoField.string("rfc8229.prefix", "Stream prefix")
local f_length = ProtoField.uint16("rfc8229.length", "Length")
local f_marker = ProtoField.uint32("rfc8229.non_esp_marker", "Non-ESP marker", base.HEX)
rfc8229.fields = { f_prefix, f_length, f_marker }

local isakmp = Dissector.get("isakmp")
local esp = Dissector.get("esp")
local PREFIX = "IKETCP"

local function is_prefix(tvb, offset)
    return tvb:len() - offset >= 6 and tvb:raw(offset, 6) == PREFIX
end

local function record_length(tvb, pinfo, offset)
    if is_prefix(tvb, offset) then
        return 6
    end
    return tvb(offset, 2):uint()
end

local function dissect_record(tvb, pinfo, tree)
    pinfo.cols.protocol = "RFC8229"
    local item = tree:add(rfc8229, tvb())
    if is_prefix(tvb, 0) then
        item:add(f_prefix, tvb(0, 6))
        return tvb:len()
    end
    item:add(f_length, tvb(0, 2))
    if tvb:len() >= 6 and tvb(2, 4):uint() == 0 then
        item:add(f_marker, tvb(2, 4))
        isakmp:call(tvb(6):tvb(), pinfo, tree)
    elseif tvb:len() > 2 then
        esp:call(tvb(2):tvb(), pinfo, tree)
    end
    return tvb:len()
end

function rfc8229.dissector(tvb, pinfo, tree)
    -- the prefix is 6 octets, a record's length field 2: ask for 2 at least, then the whole unit
    dissect_tcp_pdus(tvb, tree, 2, record_length, dissect_record, true)
    return tvb:len()
end

DissectorTable.get("tcp.port"):add(4500, rfc8229)
