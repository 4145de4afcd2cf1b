package dev.beacon.runner.persistence.testing;

import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.io.UncheckedIOException;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.ServerSocket;
import java.net.Socket;
import java.util.List;
import java.util.concurrent.CopyOnWriteArrayList;

/**
 * A loopback TCP relay to a real server that a test controls, to play the network between the
 * runner and its database:
 * <ul>
 *   <li>{@link #blackHole()}: connections stay open and new ones are accepted, but nothing gets
 *       through in either direction — a partition or a frozen primary, which no error reveals;</li>
 *   <li>{@link #cut()}: every relayed connection is closed and new ones are refused — a server that
 *       went away;</li>
 *   <li>{@link #restore()}: traffic flows again; bytes held during a black hole are delivered.</li>
 * </ul>
 * Plain threads on purpose: it stands for the network, not for our code.
 */
public final class TcpRelay implements AutoCloseable {

    private final String targetHost;
    private final int targetPort;
    private final int port;
    private final List<Socket> open = new CopyOnWriteArrayList<>();
    private final Object gate = new Object();
    private volatile boolean flowing = true;
    private volatile ServerSocket server;

    public TcpRelay(String targetHost, int targetPort) {
        this.targetHost = targetHost;
        this.targetPort = targetPort;
        try {
            ServerSocket first = new ServerSocket(0, 50, InetAddress.getLoopbackAddress());
            this.port = first.getLocalPort();
            accept(first);
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    /** The relay's port on the loopback address. */
    public int port() {
        return port;
    }

    /** Holds every byte in both directions from now on, and every new connection, until {@link #restore()}. */
    public void blackHole() {
        flowing = false;
    }

    /** Closes every relayed connection and refuses new ones until {@link #restore()}. */
    public synchronized void cut() {
        try {
            server.close();
            for (Socket s : open) {
                s.close();
            }
            open.clear();
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    /** Lets traffic flow again (after a black hole) and accepts connections again (after a cut). */
    public synchronized void restore() {
        synchronized (gate) {
            flowing = true;
            gate.notifyAll();
        }
        if (server.isClosed()) {
            try {
                ServerSocket again = new ServerSocket();
                again.setReuseAddress(true);
                again.bind(new InetSocketAddress(InetAddress.getLoopbackAddress(), port));
                accept(again);
            } catch (IOException e) {
                throw new UncheckedIOException(e);
            }
        }
    }

    @Override
    public void close() {
        restore();
        cut();
    }

    private void awaitFlowing() throws InterruptedException {
        synchronized (gate) {
            while (!flowing) {
                gate.wait();
            }
        }
    }

    private void accept(ServerSocket socket) {
        this.server = socket;
        daemon("tcp-relay-accept-" + port, () -> {
            while (!socket.isClosed()) {
                try {
                    Socket client = socket.accept();
                    open.add(client);
                    daemon("tcp-relay-connect-" + port, () -> connect(client));
                } catch (IOException e) {
                    // closed by cut(): clients see their connections refused
                }
            }
        });
    }

    private void connect(Socket client) {
        try {
            awaitFlowing(); // a black-holed link answers no handshake either
            Socket upstream = new Socket(targetHost, targetPort);
            open.add(upstream);
            daemon("tcp-relay-up-" + port, () -> pump(client, upstream));
            daemon("tcp-relay-down-" + port, () -> pump(upstream, client));
        } catch (IOException | InterruptedException e) {
            closeQuietly(client);
        }
    }

    private void pump(Socket from, Socket to) {
        byte[] buffer = new byte[16 * 1024];
        try (InputStream in = from.getInputStream(); OutputStream out = to.getOutputStream()) {
            int n;
            while ((n = in.read(buffer)) >= 0) {
                awaitFlowing();
                out.write(buffer, 0, n);
                out.flush();
            }
        } catch (IOException | InterruptedException e) {
            // one side closed or was cut: close the other
        } finally {
            closeQuietly(from);
            closeQuietly(to);
        }
    }

    private static void daemon(String name, Runnable body) {
        Thread thread = new Thread(body, name);
        thread.setDaemon(true);
        thread.start();
    }

    private static void closeQuietly(Socket socket) {
        try {
            socket.close();
        } catch (IOException ignored) {
            // already closed
        }
    }
}
