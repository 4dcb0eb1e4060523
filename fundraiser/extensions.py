"""Flask extensions, created unbound here and bound to an app in create_app."""

from flask_babel import Babel
from flask_limiter import Limiter
from flask_limiter.util import get_remote_address
from flask_login import LoginManager
from flask_migrate import Migrate
from flask_sqlalchemy import SQLAlchemy
from flask_wtf import CSRFProtect

from fundraiser.database_routing import ReplicaRoutingSession
from fundraiser.models.base import Base

db = SQLAlchemy(model_class=Base, session_options={"class_": ReplicaRoutingSession})
migrate = Migrate()
babel = Babel()
login_manager = LoginManager()
csrf = CSRFProtect()
limiter = Limiter(
    key_func=get_remote_address,
    in_memory_fallback_enabled=True,
    swallow_errors=True,
    headers_enabled=True,
)
