import EtcdAPI
import Foundation
import GRPCCore
import GRPCNIOTransportHTTP2

/// One Watch stream: sends its create requests, then counts what arrives
/// until the task is cancelled, reporting into `progress` as it goes and
/// into `results` at the end.
struct WatchStream: Sendable {
    let client: Etcdserverpb_Watch.Client<HTTP2ClientTransport.Posix>
    let create: Etcdserverpb_WatchRequest
    let watchers: Int
    let options: CallOptions
    let epoch: ContinuousClock.Instant

    func run(progress: FanOutProgress, results: StreamResults) async {
        defer { progress.streamEnded() }
        // Holds the request side open while responses are read: closing it
        // would end the stream on some servers.
        let (done, finish) = AsyncStream<Void>.makeStream()
        let create = create, watchers = watchers, epoch = epoch
        do {
            try await client.watch(options: options) { writer in
                for _ in 0..<watchers { try await writer.write(create) }
                for await _ in done {}
            } onResponse: { response in
                defer { finish.finish() }
                var outcome = StreamOutcome()
                defer { results.add(outcome) }
                do {
                    for try await message in response.messages {
                        if message.created {
                            outcome.created += 1
                            progress.watcherCreated()
                        }
                        if message.canceled { outcome.canceled += 1 }
                        guard !message.events.isEmpty else { continue }
                        let now = epoch.duration(to: .now)
                        for event in message.events {
                            if let sent = DeliveryStamp.sentAt(event.kv.value) {
                                outcome.delivery.record(now - sent)
                            } else {
                                outcome.unstamped += 1
                            }
                        }
                        outcome.events += message.events.count
                        progress.eventsArrived(message.events.count, at: now)
                    }
                } catch is CancellationError {
                    // The run is over: the main task cancels the streams.
                } catch let error as RPCError where error.code == .cancelled {
                } catch {
                    outcome.error = ErrorLabel.of(error)
                }
            }
        } catch is CancellationError {
        } catch let error as RPCError where error.code == .cancelled {
        } catch {
            var outcome = StreamOutcome()
            outcome.error = "stream: \(ErrorLabel.of(error))"
            results.add(outcome)
        }
    }
}
