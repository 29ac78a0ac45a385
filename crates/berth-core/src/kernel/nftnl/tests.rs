use super::parse::parse_line;
use super::*;

/// The words `nft --debug=netlink` prints for `bytes` (little-endian u32s).
fn words(bytes: &[u8]) -> String {
    bytes
        .chunks(4)
        .map(|c| format!("{:08x}", u32::from_le_bytes([c[0], c[1], c[2], c[3]])))
        .collect::<Vec<_>>()
        .join(" ")
}

#[test]
fn encodes_like_nft() {
    // Checked against `nft --debug=netlink` (nft 1.0.6).
    let op =
        parse_line("add element inet berth ports4 { 0.0.0.0/0 . tcp . 8080 : 10.88.0.2 . 80 }")
            .unwrap();
    assert_eq!(words(&op.key), "00000000 00000006 0000901f");
    assert_eq!(
        words(op.key_end.as_ref().unwrap()),
        "ffffffff 00000006 0000901f"
    );
    assert_eq!(words(op.data.as_ref().unwrap()), "0200580a 00005000");
    let op =
        parse_line("add element inet berth ports4 { 198.51.100.2 . udp . 53 : 10.88.0.2 . 5353 }")
            .unwrap();
    assert_eq!(words(&op.key), "026433c6 00000011 00003500");
    assert_eq!(words(op.data.as_ref().unwrap()), "0200580a 0000e914");
    let op = parse_line(
        "add element inet berth ports4_keep { 0.0.0.0/0 . tcp . 8000-8010 : 10.88.0.2 }",
    )
    .unwrap();
    assert_eq!(
        words(op.key_end.as_ref().unwrap()),
        "ffffffff 00000006 00004a1f"
    );
    assert_eq!(words(op.data.as_ref().unwrap()), "0200580a");
    let op =
        parse_line("add element inet berth ports6 { ::/0 . tcp . 8080 : fd00::2 . 80 }").unwrap();
    assert_eq!(
        words(op.key_end.as_ref().unwrap()),
        "ffffffff ffffffff ffffffff ffffffff 00000006 0000901f"
    );
    assert_eq!(
        words(op.data.as_ref().unwrap()),
        "000000fd 00000000 00000000 02000000 00005000"
    );
    let op = parse_line("add element bridge berth no_icc_ports { \"vethabc\" }").unwrap();
    assert_eq!(words(&op.key), "68746576 00636261 00000000 00000000");
    assert_eq!(
        (op.family, op.key_end, op.data),
        (NFPROTO_BRIDGE, None, None)
    );
    let del = parse_line("delete element inet berth ports4 { 0.0.0.0/0 . tcp . 8080 }").unwrap();
    assert!(!del.add && del.data.is_none() && del.key_end.is_some());
}

#[test]
fn encodes_port_guard_sets_like_nft() {
    // Checked against `nft --debug=netlink` (nft 1.0.6): a 6-byte MAC
    // padded to 8, the typeof raw payload key of port_nd like an address.
    let port = "68746576 00636261 00000000 00000000 11ac4202 00000200";
    let op = parse_line("add element bridge berth port_mac { \"vethabc\" . 02:42:ac:11:00:02 }")
        .unwrap();
    assert_eq!(words(&op.key), port);
    let op = parse_line(
        "add element bridge berth port_ip4 { \"vethabc\" . 02:42:ac:11:00:02 . 172.17.0.2 }",
    )
    .unwrap();
    assert_eq!(words(&op.key), format!("{port} 020011ac"));
    assert_eq!((op.key_end, op.data), (None, None));
    let v6 = format!("{port} 000000fd 00000000 00000000 02000000");
    let op = parse_line(
        "add element bridge berth port_ip6 { \"vethabc\" . 02:42:ac:11:00:02 . fd00::2 }",
    )
    .unwrap();
    assert_eq!(words(&op.key), v6);
    let op = parse_line("delete element bridge berth port_nd { \"vethabc\" . 02:42:ac:11:00:02 . 0xfd000000000000000000000000000002 }").unwrap();
    assert_eq!(words(&op.key), v6);
    assert!(!op.add);
    for bad in [
        "add element bridge berth port_mac { \"v\" . 02:42:ac:11:00 }",
        "add element bridge berth port_nd { \"v\" . 02:42:ac:11:00:02 . fd00::2 }",
        "add element bridge berth port_ip4 { \"v\" . 02:42:ac:11:00:02 . fd00::2 }",
    ] {
        assert_eq!(parse_line(bad), None, "{bad}");
    }
}

#[test]
fn anything_else_goes_to_libnftables() {
    for text in [
        "add element inet berth bridges { \"br-x\" }",
        "add element inet berth ports4 { 0.0.0.0/0 . tcp . 8080 }",
        "add element inet berth ports4 { 0.0.0.0/0 . sctp . 8080 : 10.0.0.2 . 80 }",
        "flush map inet berth ports4",
        "add element inet berth ports4 { 0.0.0.0/0 . tcp : 10.0.0.2 . 80 }",
        "",
    ] {
        assert_eq!(parse(text), None, "{text}");
    }
    let two = "add element inet berth ports4 { 0.0.0.0/0 . tcp . 1 : 10.0.0.2 . 1 }\ndelete element inet berth ports4 { 0.0.0.0/0 . tcp . 1 }\n";
    assert_eq!(parse(two).unwrap().len(), 2);
}

#[test]
fn batch_is_framed() {
    let ops = parse("add element bridge berth no_icc_ports { \"v\" }").unwrap();
    let b = batch(&ops);
    let len = |off: usize| u32::from_ne_bytes(b[off..off + 4].try_into().unwrap()) as usize;
    let kind = |off: usize| u16::from_ne_bytes(b[off + 4..off + 6].try_into().unwrap());
    assert_eq!(kind(0), NFNL_MSG_BATCH_BEGIN);
    let second = len(0);
    assert_eq!(
        kind(second),
        (NFNL_SUBSYS_NFTABLES << 8) | NFT_MSG_NEWSETELEM
    );
    let third = second + len(second);
    assert_eq!(kind(third), NFNL_MSG_BATCH_END);
    assert_eq!(third + len(third), b.len());
}
