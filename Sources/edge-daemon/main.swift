import CEdgeShim
import DaemonCore
import EdgeRuntime

exit(runMain(processArguments(), components: DaemonComponents(processorFactory: EngineProcessorFactory(), sinkFactory: BusSinkFactory())).rawValue)
