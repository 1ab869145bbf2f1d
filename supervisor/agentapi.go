package supervisor

// The control API's types, constants and the state folder's readers live in
// internal/agentapi (a leaf that imports nothing heavy, for the commands that
// only talk to the agent); these are the same names, so that the supervisor's
// own code and its importers are unchanged.

import (
	"os"
	"syscall"

	"github.com/beadsctl/beadsctl/internal/agentapi"
)

const ActionCreated = agentapi.ActionCreated
const ActionUpdated = agentapi.ActionUpdated
const ActionRestarted = agentapi.ActionRestarted
const ActionUnchanged = agentapi.ActionUnchanged

type PutResult = agentapi.PutResult

var ErrUnknownDaemon = agentapi.ErrUnknownDaemon

const AgentReadyFDEnv = agentapi.AgentReadyFDEnv

func DetachedSysProcAttr() *syscall.SysProcAttr { return agentapi.DetachedSysProcAttr() }

const ReadyPipeSupported = agentapi.ReadyPipeSupported

func AgentEnv(environ []string) []string { return agentapi.AgentEnv(environ) }

func AgentLockPath(dir string) string { return agentapi.AgentLockPath(dir) }

func AgentLockHolder(dir string) (int, error) { return agentapi.AgentLockHolder(dir) }

type AgentRecord = agentapi.AgentRecord

func AgentRecordPath(dir string) string { return agentapi.AgentRecordPath(dir) }

func ReadAgentRecord(dir string) (AgentRecord, error) { return agentapi.ReadAgentRecord(dir) }

const EventAlerted = agentapi.EventAlerted
const EventAlertFailed = agentapi.EventAlertFailed

type AlertSpec = agentapi.AlertSpec
type AlertResult = agentapi.AlertResult
type AlertsRequest = agentapi.AlertsRequest
type AlertTestResult = agentapi.AlertTestResult

const APIVersion = agentapi.APIVersion
const HeaderAPI = agentapi.HeaderAPI
const HeaderVersion = agentapi.HeaderVersion
const MaxBodyBytes = agentapi.MaxBodyBytes
const MaxWait = agentapi.MaxWait

type DaemonResult = agentapi.DaemonResult

const WaitReached = agentapi.WaitReached
const WaitTimeout = agentapi.WaitTimeout
const WaitErrored = agentapi.WaitErrored
const WaitStopped = agentapi.WaitStopped
const WaitBlocked = agentapi.WaitBlocked
const WaitExited = agentapi.WaitExited

type WaitResult = agentapi.WaitResult
type APIError = agentapi.APIError
type FlushResult = agentapi.FlushResult

const CondStarted = agentapi.CondStarted
const CondHealthy = agentapi.CondHealthy
const CondCompleted = agentapi.CondCompleted
const OnRestartIgnore = agentapi.OnRestartIgnore
const OnRestartRestart = agentapi.OnRestartRestart
const FindsEscaped = agentapi.FindsEscaped
const EventAgentStart = agentapi.EventAgentStart
const EventAgentStop = agentapi.EventAgentStop
const EventApplied = agentapi.EventApplied
const EventRemoved = agentapi.EventRemoved
const EventStarted = agentapi.EventStarted
const EventExited = agentapi.EventExited
const EventRestarted = agentapi.EventRestarted
const EventHealth = agentapi.EventHealth
const EventMemory = agentapi.EventMemory
const EventErrored = agentapi.EventErrored
const EventStopped = agentapi.EventStopped
const EventCompleted = agentapi.EventCompleted
const EventWaiting = agentapi.EventWaiting
const EventBlocked = agentapi.EventBlocked
const EventDropped = agentapi.EventDropped

type Event = agentapi.Event

const EventsFile = agentapi.EventsFile
const EventsMaxBytes = agentapi.EventsMaxBytes

func EventsPath(dir string) string { return agentapi.EventsPath(dir) }

type EventsWarning = agentapi.EventsWarning

func ReadEvents(dir string) ([]Event, []EventsWarning, error) { return agentapi.ReadEvents(dir) }

const CheckBeadsRPC = agentapi.CheckBeadsRPC
const CheckExec = agentapi.CheckExec
const CheckTCP = agentapi.CheckTCP
const CheckSQL = agentapi.CheckSQL
const CheckHTTP = agentapi.CheckHTTP
const CheckNone = agentapi.CheckNone

var HealthChecks = agentapi.HealthChecks

type MetricsListenResult = agentapi.MetricsListenResult

var ErrNotRegular = agentapi.ErrNotRegular

func OpenLogFile(path string, flag int, perm os.FileMode) (*os.File, error) {
	return agentapi.OpenLogFile(path, flag, perm)
}

const PolicyAlways = agentapi.PolicyAlways
const PolicyOnFailure = agentapi.PolicyOnFailure
const PolicyNever = agentapi.PolicyNever
const PolicyOnce = agentapi.PolicyOnce
const BackoffConstant = agentapi.BackoffConstant
const BackoffExponential = agentapi.BackoffExponential
const StateDir = agentapi.StateDir

func SocketPath(dir string) string { return agentapi.SocketPath(dir) }

type Spec = agentapi.Spec
type Dependency = agentapi.Dependency
type RestartPolicy = agentapi.RestartPolicy
type Limits = agentapi.Limits
type StopPolicy = agentapi.StopPolicy
type LogSpec = agentapi.LogSpec
type Rotate = agentapi.Rotate
type HealthSpec = agentapi.HealthSpec
type HTTPHealth = agentapi.HTTPHealth
type SQLHealth = agentapi.SQLHealth
type DoltSpec = agentapi.DoltSpec
type State = agentapi.State

const StateStarting = agentapi.StateStarting
const StateOnline = agentapi.StateOnline
const StateStopping = agentapi.StateStopping
const StateStopped = agentapi.StateStopped
const StateWaitingRestart = agentapi.StateWaitingRestart
const StateErrored = agentapi.StateErrored
const StateWaiting = agentapi.StateWaiting
const StateCompleted = agentapi.StateCompleted
const ReasonCrash = agentapi.ReasonCrash
const ReasonMemory = agentapi.ReasonMemory
const ReasonHealth = agentapi.ReasonHealth
const ReasonManual = agentapi.ReasonManual
const ReasonConfig = agentapi.ReasonConfig
const ReasonDependency = agentapi.ReasonDependency

type Exit = agentapi.Exit
type RestartEvent = agentapi.RestartEvent
type HealthEvent = agentapi.HealthEvent

const MaxRecentRestarts = agentapi.MaxRecentRestarts
const MaxRecentHealth = agentapi.MaxRecentHealth

type HealthStatus = agentapi.HealthStatus
type DoltStatus = agentapi.DoltStatus
type Flush = agentapi.Flush
type Status = agentapi.Status
type AgentStatus = agentapi.AgentStatus

func ReadRecentEvents(dir string, n int) ([]Event, error) { return agentapi.ReadRecentEvents(dir, n) }
