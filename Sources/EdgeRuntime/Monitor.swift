import CEdgeShim

/// A mutex with one condition variable (pthreads), for the daemon's small shared states.
public final class Monitor {
    private let mutex: UnsafeMutablePointer<pthread_mutex_t>
    private let condition: UnsafeMutablePointer<pthread_cond_t>

    public init() {
        mutex = .allocate(capacity: 1)
        mutex.initialize(to: pthread_mutex_t())
        pthread_mutex_init(mutex, nil)
        condition = .allocate(capacity: 1)
        condition.initialize(to: pthread_cond_t())
        // Timed waits measure CLOCK_MONOTONIC so a wall-clock step cannot stretch them.
        var attributes = pthread_condattr_t()
        pthread_condattr_init(&attributes)
        pthread_condattr_setclock(&attributes, CLOCK_MONOTONIC)
        pthread_cond_init(condition, &attributes)
        pthread_condattr_destroy(&attributes)
    }

    deinit {
        pthread_cond_destroy(condition)
        pthread_mutex_destroy(mutex)
        condition.deallocate()
        mutex.deallocate()
    }

    /// Runs `body` holding the mutex.
    public func locked<T>(_ body: () throws(Never) -> T) -> T {
        pthread_mutex_lock(mutex)
        defer { pthread_mutex_unlock(mutex) }
        return body()
    }

    /// Waits (mutex held by the caller, inside `locked`) until signalled or until the monotonic
    /// deadline passes; returns false on timeout.
    @discardableResult
    public func wait(untilMonotonic deadline: UInt64?) -> Bool {
        guard let deadline else {
            pthread_cond_wait(condition, mutex)
            return true
        }
        var when = timespec(tv_sec: Int(deadline / 1_000_000_000), tv_nsec: Int(deadline % 1_000_000_000))
        return pthread_cond_timedwait(condition, mutex, &when) != ETIMEDOUT
    }

    /// Wakes every waiter.
    public func broadcast() {
        pthread_cond_broadcast(condition)
    }
}

/// A joinable pthread running one closure.
public final class WorkerThread {
    private final class Box {
        let name: String
        let body: () -> Void
        init(_ name: String, _ body: @escaping () -> Void) {
            self.name = name
            self.body = body
        }
    }

    private var thread: pthread_t = pthread_t()
    private var joined = false
    /// The thread's name (for logs).
    public let name: String

    /// Starts `body` on a new thread.
    public init(name: String, _ body: @escaping () -> Void) throws(SystemError) {
        self.name = name
        let box = Unmanaged.passRetained(Box(name, body)).toOpaque()
        let status = pthread_create(&thread, nil, { context in
            let box = Unmanaged<Box>.fromOpaque(context!).takeRetainedValue()
            // Shown by `top -H` and /proc/self/task/*/comm: "edge-capture", "edge-inference", ...
            _ = ("edge-" + box.name).withCString { edge_set_thread_name($0) }
            box.body()
            return nil
        }, box)
        if status != 0 {
            Unmanaged<Box>.fromOpaque(box).release()
            joined = true
            throw SystemError("pthread_create", code: status)
        }
    }

    /// Waits for the thread to finish (once).
    public func join() {
        if joined { return }
        joined = true
        pthread_join(thread, nil)
    }
}

/// A lock-protected value readable from any thread.
public final class Shared<Value> {
    private let monitor = Monitor()
    private var value: Value

    public init(_ value: Value) { self.value = value }

    /// The current value.
    public func load() -> Value { monitor.locked { value } }
    /// Replaces the value.
    public func store(_ newValue: Value) { monitor.locked { value = newValue } }
    /// Mutates the value under the lock and returns what `body` returns.
    public func update<T>(_ body: (inout Value) -> T) -> T {
        monitor.locked { body(&value) }
    }
}
