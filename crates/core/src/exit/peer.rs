//! Whose is the other end of a loopback connection. The relay's port is in the browser's
//! world-readable command line, and anyone it serves is logged in to the exit: it serves only
//! its own user. On Linux the kernel names the owner of the connecting socket through sock_diag
//! (one exact-match netlink query per connection, no scan of every socket).

use std::net::SocketAddr;

/// Who owns the client end of a connection.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Peer {
    /// A socket of this user id.
    Uid(u32),
    /// The kernel knows no such socket here (another network namespace, or gone already).
    Unknown,
    /// This platform cannot be asked (not Linux); the relay still listens on loopback only.
    Unchecked,
}

/// The owner of the socket at `peer` connected to our `local` address.
#[cfg(target_os = "linux")]
pub fn owner(peer: SocketAddr, local: SocketAddr) -> std::io::Result<Peer> {
    use netlink_packet_core::{NetlinkHeader, NetlinkMessage, NetlinkPayload, NLM_F_REQUEST};
    use netlink_packet_sock_diag::constants::{AF_INET, AF_INET6, IPPROTO_TCP};
    use netlink_packet_sock_diag::inet::{ExtensionFlags, InetRequest, SocketId, StateFlags};
    use netlink_packet_sock_diag::SockDiagMessage;
    use netlink_sys::{protocols::NETLINK_SOCK_DIAG, Socket};

    let family = if peer.is_ipv4() { AF_INET } else { AF_INET6 };
    let mut header = NetlinkHeader::default();
    // An exact lookup (no DUMP): the peer's socket is the one from `peer` to `local`.
    header.flags = NLM_F_REQUEST;
    let mut request = NetlinkMessage::new(
        header,
        SockDiagMessage::InetRequest(InetRequest {
            family,
            protocol: IPPROTO_TCP,
            extensions: ExtensionFlags::empty(),
            states: StateFlags::all(),
            socket_id: SocketId {
                source_port: peer.port(),
                destination_port: local.port(),
                source_address: peer.ip(),
                destination_address: local.ip(),
                interface_id: 0,
                // "No cookie": match on the addresses alone.
                cookie: [0xff; 8],
            },
        })
        .into(),
    );
    request.finalize();
    let mut out = vec![0; request.buffer_len()];
    request.serialize(&mut out);

    thread_local! {
        // One netlink socket per thread, reused: opening one per connection doubles the cost.
        static SOCKET: std::cell::RefCell<Option<Socket>> = const { std::cell::RefCell::new(None) };
    }
    let mut answer = [0u8; 1024];
    let n = SOCKET.with(|cell| -> std::io::Result<usize> {
        let mut slot = cell.borrow_mut();
        let socket = match slot.take() {
            Some(s) => s,
            None => Socket::new(NETLINK_SOCK_DIAG)?,
        };
        socket.send_to(&out, &netlink_sys::SocketAddr::new(0, 0), 0)?;
        let n = socket.recv(&mut &mut answer[..], 0)?;
        // Kept only after a clean exchange: a failed one may leave a reply queued.
        *slot = Some(socket);
        Ok(n)
    })?;
    let bytes = answer.get(..n).unwrap_or_default();
    let reply = NetlinkMessage::<SockDiagMessage>::deserialize(bytes)
        .map_err(|e| std::io::Error::new(std::io::ErrorKind::InvalidData, e.to_string()))?;
    Ok(match reply.payload {
        NetlinkPayload::InnerMessage(SockDiagMessage::InetResponse(r)) => Peer::Uid(r.header.uid),
        // ENOENT: no socket with that address pair in this namespace.
        _ => Peer::Unknown,
    })
}

/// Elsewhere the owner cannot be asked.
#[cfg(not(target_os = "linux"))]
pub fn owner(_peer: SocketAddr, _local: SocketAddr) -> std::io::Result<Peer> {
    Ok(Peer::Unchecked)
}

/// This process's effective user id.
pub fn own_uid() -> u32 {
    nix::unistd::geteuid().as_raw()
}

#[cfg(all(test, target_os = "linux"))]
mod tests {
    use super::*;

    #[test]
    fn a_connection_of_our_own_is_ours() {
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let client = std::net::TcpStream::connect(listener.local_addr().unwrap()).unwrap();
        let (server, peer) = listener.accept().unwrap();
        assert_eq!(
            owner(peer, server.local_addr().unwrap()).unwrap(),
            Peer::Uid(own_uid()),
            "the kernel names this process's user as the client's owner"
        );
        drop(client);
    }

    #[test]
    fn an_address_pair_with_no_socket_is_unknown() {
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let nobody: SocketAddr = "127.0.0.9:1".parse().unwrap();
        assert_eq!(
            owner(nobody, listener.local_addr().unwrap()).unwrap(),
            Peer::Unknown
        );
    }
}
