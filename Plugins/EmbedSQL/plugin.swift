import Foundation
import PackagePlugin

/// Embeds the package's top-level `sql/*.sql` migrations into the target as Swift source, so an installed
/// `dealer-kpi` binary carries its schema with it (no resource bundle to lose on install).
@main
struct EmbedSQL: BuildToolPlugin {
    func createBuildCommands(context: PluginContext, target: Target) throws -> [Command] {
        let sqlDirectory = context.package.directoryURL.appending(path: "sql")
        let files = try FileManager.default
            .contentsOfDirectory(at: sqlDirectory, includingPropertiesForKeys: nil)
            .filter { $0.pathExtension == "sql" }
            .sorted { $0.lastPathComponent < $1.lastPathComponent }
        let output = context.pluginWorkDirectoryURL.appending(path: "EmbeddedSQL.swift")
        return [
            .buildCommand(
                displayName: "Embedding \(files.count) SQL migrations",
                executable: try context.tool(named: "sql-embedder").url,
                arguments: [output.path] + files.map(\.path),
                inputFiles: files + [sqlDirectory],
                outputFiles: [output]
            ),
        ]
    }
}
