import Foundation

extension ZendeskEmulator {
    /// The target side: not served yet.
    func writeRoute(method: String, path: String, segments: [String], query: [String: String], body: Data) -> Response? {
        nil
    }
}
