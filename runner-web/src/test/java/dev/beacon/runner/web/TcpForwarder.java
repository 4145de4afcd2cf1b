package dev.beacon.runner.web;

import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.ServerSocket;
import java.net.Socket;
import java.util.List;
import java.util.concurrent.CopyOnWriteArrayList;

/**
 * A loopback TCP relay to a real server that a test can cut, black-hole and restore, to play a
 * database that goes away and comes back. {@link #cut()} refuses and closes connections (a stopped
 * server); {@link #blackHole()} keeps every connection open and accepts new ones but answers nothing
 * (a frozen primary or a network partition: writes succeed, replies never come). Plain threads on
 * purpose: it stands for the network, not for our code.
 */
final class TcpForwarder implements AutoCloseable {

    private final String targetHost;
    private final int targetPort;
    private final int port;
    private final List<Socket> open = new CopyOnWriteArrayList<>();
    private volatile ServerSocket server;
    private volatile boolean blackHoled;

    TcpForwarder(String targetHost, int targetPort) throws IOException {
        this.targetHost = targetHost;
        this.targetPort = targetPort;
        ServerSocket first = new ServerSocket(0, 50, InetAddress.getLoopbackAddress());
        this.port = first.getLocalPort();
        start(first);
    }

    int port() {
        return port;
    }

    /** Closes every relayed connection and refuses new ones. */
    synchronized void cut() throws IOException {
        blackHoled = false;
        server.close();
        for (Socket s : open) {
            s.close();
        }
        open.clear();
    }

    /**
     * From now on nothing crosses the relay: bytes in either direction are swallowed, connections stay
     * open, and new ones are accepted and never answered.
     */
    synchronized void blackHole() {
        blackHoled = true;
    }

    /**
     * Relays again. After a {@link #cut()} it accepts on the same port; after a {@link #blackHole()} it
     * first closes every connection that lived through it, since their streams lost bytes (as a
     * firewall that dropped its connection state would).
     */
    synchronized void restore() throws IOException {
        if (blackHoled) {
            for (Socket s : open) {
                s.close();
            }
            open.clear();
            blackHoled = false;
        }
        if (server.isClosed()) {
            ServerSocket again = new ServerSocket();
            again.setReuseAddress(true);
            again.bind(new InetSocketAddress(InetAddress.getLoopbackAddress(), port));
            start(again);
        }
    }

    private void start(ServerSocket socket) {
        this.server = socket;
        Thread acceptor = new Thread(() -> {
            while (!socket.isClosed()) {
                try {
                    Socket client = socket.accept();
                    open.add(client);
                    if (blackHoled) {
                        pump(client, null);
                        continue;
                    }
                    Socket upstream = new Socket(targetHost, targetPort);
                    open.add(upstream);
                    pump(client, upstream);
                    pump(upstream, client);
                } catch (IOException e) {
                    // closed by cut(), or the target refused: the client sees its connection fail
                }
            }
        }, "tcp-forwarder-accept");
        acceptor.setDaemon(true);
        acceptor.start();
    }

    /** Copies {@code from} to {@code to} (swallowing everything while black-holed, or always if {@code to} is null). */
    private void pump(Socket from, Socket to) {
        Thread t = new Thread(() -> {
            byte[] buffer = new byte[16 * 1024];
            try (InputStream in = from.getInputStream(); OutputStream out = to == null ? OutputStream.nullOutputStream() : to.getOutputStream()) {
                int n;
                while ((n = in.read(buffer)) >= 0) {
                    if (!blackHoled) {
                        out.write(buffer, 0, n);
                        out.flush();
                    }
                }
            } catch (IOException e) {
                // either side closed
            } finally {
                try {
                    (to == null ? from : to).close();
                } catch (IOException ignored) {
                    // already closed
                }
            }
        }, "tcp-forwarder-pump");
        t.setDaemon(true);
        t.start();
    }

    @Override
    public void close() throws IOException {
        cut();
    }
}
