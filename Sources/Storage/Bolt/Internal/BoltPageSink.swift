/// Gives pages their numbers and writes them to the file in order, from
/// page `firstPage` on, buffered so that a file of many small pages costs
/// one write per `flushBytes` rather than one per page.
struct BoltPageSink {
    let file: any DurableFile
    let pageSize: Int
    /// The number the next page written gets; at the end, the high-water mark.
    private(set) var nextPage: UInt64
    private var buffer: [UInt8] = []
    private var bufferStartPage: UInt64
    private static let flushBytes = 1 << 20

    init(file: any DurableFile, pageSize: Int, firstPage: UInt64) {
        self.file = file
        self.pageSize = pageSize
        self.nextPage = firstPage
        self.bufferStartPage = firstPage
    }

    /// Writes `page` as the next page(s); returns its page number.
    mutating func write(_ page: BoltPageBuilder) throws(BoltError) -> UInt64 {
        let id = nextPage
        let bytes = page.encode(id: id, pageSize: pageSize)
        nextPage += UInt64(bytes.count / pageSize)
        if buffer.isEmpty {
            bufferStartPage = id
        }
        buffer.append(contentsOf: bytes)
        if buffer.count >= Self.flushBytes { try flush() }
        return id
    }

    mutating func flush() throws(BoltError) {
        guard !buffer.isEmpty else { return }
        do {
            try file.write(buffer, at: Int(bufferStartPage) * pageSize)
        } catch {
            throw .io(error)
        }
        buffer.removeAll(keepingCapacity: true)
        bufferStartPage = nextPage
    }
}
