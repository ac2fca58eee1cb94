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
                displayName: "Embedding SQL migrations",
                executable: try context.tool(named: "sql-embedder").url,
                // The directory, not the files: the embedder lists it when it runs (a cached build plan keeps
                // this argument list, and a migration added since must not be left out).
                arguments: [output.path, sqlDirectory.path],
                inputFiles: files + [sqlDirectory],
                outputFiles: [output]
            ),
        ]
    }
}
