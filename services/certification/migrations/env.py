from services.certification.adapters.orm import Base
from shared.migrations import run_env

run_env(Base.metadata)
